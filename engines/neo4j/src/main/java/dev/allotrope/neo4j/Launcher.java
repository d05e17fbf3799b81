package dev.allotrope.neo4j;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import org.neo4j.cli.AdminTool;
import org.neo4j.cli.ExecutionContext;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.SettingValueParsers;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import org.neo4j.kernel.impl.transaction.log.checkpoint.CheckPointer;
import org.neo4j.kernel.impl.transaction.log.checkpoint.SimpleTriggerInfo;
import org.neo4j.kernel.internal.GraphDatabaseAPI;
import org.neo4j.kernel.internal.Version;

/**
 * Runs one embedded Neo4j Community DBMS for one Allotrope database node, reachable only over Bolt
 * on a loopback port. The supervisor (graph-server) talks to it through this process's stdio:
 *
 * <pre>
 * java -Xmx256m ... -cp 'LIB/*' dev.allotrope.neo4j.Launcher --home DIR --bolt-port PORT
 *      [--bolt-address 127.0.0.1] [--import-dir DIR] [--pagecache 16m] [--password-file FILE] [--conf FILE]
 *
 * stdout  READY bolt=HOST:PORT version=V        once Bolt accepts connections and the password is set
 *         OK checkpoint | OK snapshot DIR       answers to the stdin commands below
 *         ERROR command: message                a command failed (the process keeps running)
 *         STOPPED                               the DBMS shut down cleanly (SIGTERM, "stop" or stdin closed)
 * stdin   checkpoint        flush the default database's store files (CALL db.checkpoint())
 *         snapshot DIR      stop the default database, copy its store and transaction logs into DIR, start it again
 *         stop              shut down and exit 0; so does end of input (the supervisor died)
 * env     ALLOTROPE_NEO4J_PASSWORD   the internal password, when --password-file is not given
 * </pre>
 *
 * Auth stays on; the user "neo4j" gets the internal password before Bolt first listens, and again at
 * every later start, so the supervisor can rotate it by rewriting the file and restarting. Everything else Neo4j writes stays under --home.
 */
public final class Launcher {
    private static final String DATABASE = GraphDatabaseSettings.DEFAULT_DATABASE_NAME;

    private static volatile DatabaseManagementService dbms;
    private static Path home;

    public static void main(String[] argv) throws Exception {
        Map<String, String> args = parseArgs(argv);
        home = Path.of(required(args, "home")).toAbsolutePath();
        String boltAddress = args.getOrDefault("bolt-address", "127.0.0.1");
        int boltPort = Integer.parseInt(required(args, "bolt-port"));
        Path importDir = Path.of(args.getOrDefault("import-dir", home.resolve("import").toString())).toAbsolutePath();
        String password = readPassword(args.get("password-file"));
        Files.createDirectories(importDir);

        // First start: the password goes into data/dbms/auth.ini, which the new system database takes
        // its initial user from, so "neo4j"/"neo4j" is never valid while Bolt listens.
        boolean firstStart = !Files.exists(home.resolve("data/databases/system"));
        if (firstStart) setInitialPassword(password);

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        if (args.containsKey("conf")) builder.loadPropertiesFromFile(Path.of(args.get("conf")));
        builder.setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(boltAddress, boltPort))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory,
                        SettingValueParsers.BYTES.parse(args.getOrDefault("pagecache", "16m")))
                // server.directories.import: LOAD CSV file:/// URLs resolve inside this directory only.
                .setConfig(GraphDatabaseSettings.load_csv_file_url_root, importDir)
                .setConfig(GraphDatabaseSettings.allow_file_urls, true)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // Transaction logs are preallocated to the rotation size (256 MiB by default), real disk
                // on ext4 even for an empty database, and kept two days: small files, two of them.
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, 16L * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "2 files")
                // Bolt otherwise waits 5 s for its worker pool and 5 s more for idle connections when
                // shutting down; the store is already closed by then, so there is nothing to wait for.
                .setConfig(BoltConnectorInternalSettings.thread_pool_shutdown_wait_time, Duration.ofMillis(100))
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofMillis(100));

        dbms = builder.build();
        Runtime.getRuntime().addShutdownHook(new Thread(Launcher::shutdown, "allotrope-shutdown"));

        if (firstStart) Files.deleteIfExists(home.resolve("data/dbms/auth.ini")); // consumed: the hash need not stay on disk
        else setPassword(password);
        GraphDatabaseService db = dbms.database(DATABASE);
        if (!db.isAvailable(60_000)) throw new IllegalStateException("database " + DATABASE + " did not become available");
        System.out.println("READY bolt=" + boltAddress + ":" + boltPort + " version=" + Version.getNeo4jVersion());
        System.out.flush();

        serveCommands();
        System.exit(0); // runs the shutdown hook
    }

    /** What `neo4j-admin dbms set-initial-password` does; its report goes to stderr, stdout is the protocol. */
    private static void setInitialPassword(String password) {
        int status = AdminTool.execute(new ExecutionContext(home, home.resolve("conf"), System.err, System.err, new DefaultFileSystemAbstraction()),
                "dbms", "set-initial-password", password);
        if (status != 0) throw new IllegalStateException("set-initial-password exited " + status);
    }

    /** Later starts: the password is whatever the supervisor handed over, so rotating it is a rewrite and a restart. */
    private static void setPassword(String password) {
        try {
            dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED", Map.of("password", password));
        } catch (RuntimeException e) {
            // Neo4j refuses to "change" a password to the one already set: then it is already right.
            if (!String.valueOf(e.getMessage()).contains("Old password and new password cannot be the same")) throw e;
        }
    }

    private static void serveCommands() throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.trim().split("\\s+", 2);
            try {
                switch (words[0]) {
                    case "" -> { }
                    case "stop" -> { return; }
                    case "checkpoint" -> {
                        checkpoint();
                        reply("OK checkpoint");
                    }
                    case "snapshot" -> {
                        if (words.length < 2) throw new IllegalArgumentException("snapshot needs a directory");
                        snapshot(Path.of(words[1]).toAbsolutePath());
                        reply("OK snapshot " + words[1]);
                    }
                    default -> throw new IllegalArgumentException("unknown command");
                }
            } catch (Exception e) {
                reply("ERROR " + words[0] + ": " + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
        }
    }

    /**
     * Forces a checkpoint of the default database: every committed transaction is in the store files.
     * Community has no db.checkpoint() procedure (it is Enterprise-only in 5.x), so this goes through
     * the kernel's CheckPointer, the component that procedure calls.
     */
    private static void checkpoint() throws IOException {
        GraphDatabaseAPI db = (GraphDatabaseAPI) dbms.database(DATABASE);
        db.getDependencyResolver().resolveDependency(CheckPointer.class)
                .forceCheckPoint(new SimpleTriggerInfo("allotrope snapshot"));
    }

    /**
     * A copy of the default database taken while it runs. The supervisor must hold writes back
     * first (no transaction in flight, none admitted until "OK snapshot"): then, after a checkpoint,
     * the store files no longer change, and the transaction logs copied last cover anything that
     * would. Community cannot stop one database (STOP DATABASE is Enterprise-only), so the other
     * consistent copy is the offline one: stop this process and copy data/ while it is down.
     * DIR gets databases/neo4j and transactions/neo4j, the layout of a data directory, so a launcher
     * whose --home has DIR as its data/ opens the copy as is.
     */
    private static void snapshot(Path target) throws IOException {
        Path data = home.resolve("data");
        checkpoint();
        copyTree(data.resolve("databases").resolve(DATABASE), target.resolve("databases").resolve(DATABASE));
        copyTree(data.resolve("transactions").resolve(DATABASE), target.resolve("transactions").resolve(DATABASE));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                Path dest = to.resolve(from.relativize(p).toString());
                // The database's lock file stays behind: a copy is not a running database.
                if (p.getFileName().toString().equals("database_lock")) continue;
                if (Files.isDirectory(p)) Files.createDirectories(dest);
                else Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }

    private static synchronized void shutdown() {
        DatabaseManagementService service = dbms;
        if (service == null) return;
        dbms = null;
        service.shutdown();
        System.out.println("STOPPED");
        System.out.flush();
    }

    private static void reply(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private static String readPassword(String file) throws IOException {
        String password = file != null
                ? Files.readString(Path.of(file), StandardCharsets.UTF_8).strip()
                : System.getenv("ALLOTROPE_NEO4J_PASSWORD");
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("no internal password: pass --password-file or set ALLOTROPE_NEO4J_PASSWORD");
        }
        return password;
    }

    private static Map<String, String> parseArgs(String[] argv) {
        Map<String, String> args = new HashMap<>();
        for (int i = 0; i < argv.length; i++) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
                throw new IllegalArgumentException("expected --name value pairs, got: " + argv[i]);
            }
            args.put(argv[i].substring(2), argv[++i]);
        }
        return args;
    }

    private static String required(Map<String, String> args, String name) {
        String value = args.get(name);
        if (value == null) throw new IllegalArgumentException("missing --" + name);
        return value;
    }
}
