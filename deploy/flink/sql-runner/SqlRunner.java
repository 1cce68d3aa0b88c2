// Runs one of Meridian's Flink SQL scripts (deploy/flink: kafka-tables.sql followed by jobs/<job>.sql, or
// postgres-sink.sql) inside a Flink cluster: the pattern of the Flink Kubernetes operator's
// examples/flink-sql-runner-example, plus the placeholder filling of scripts/flink/render-sql.py, done here at start
// so that no secret is written into the image.
//
//   flink run sql-runner.jar /opt/flink/usrlib/sql-scripts/orders.sql
//
// Statements end at a line that ends with ';'; '--' starts a comment (both as in scripts/flink/flinksql.py).
// Comments are removed before the placeholders are filled in, so a value may contain '--'. Each ${NAME} is taken
// from the environment, else from DEFAULTS (those of scripts/flink/flinksql.py: keep them the same); JOB defaults
// to the script's file name without .sql. A placeholder without a value stops the job before anything runs. Every
// placeholder stands inside a SQL string, so a value's single quotes are doubled.
package meridian.flink;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;

public final class SqlRunner {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Z][A-Z0-9_]*)\\}");
    // SET 'key' = 'value' goes into the TableConfig (executeSql doesn't take SET), as in the operator's example.
    private static final Pattern SET = Pattern.compile("SET\\s+'(\\S+)'\\s+=\\s+'(.*)'", Pattern.CASE_INSENSITIVE);
    private static final String SHADED = "org.apache.flink.kafka.shaded.org.apache.kafka.common.security.";
    private static final Map<String, String> DEFAULTS = Map.of(
            "WINDOW_SECONDS", "60",
            "OUT_OF_ORDERNESS_SECONDS", "5",
            "IDLE_TIMEOUT_SECONDS", "30",
            "TOPIC_PREFIX", "",
            "KAFKA_SASL_MECHANISM", "SCRAM-SHA-512",
            "CHECKPOINT_INTERVAL", "30s");

    private SqlRunner() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: sql-runner SCRIPT.sql");
        }
        Path script = Path.of(args[0]);
        String job = script.getFileName().toString().replaceFirst("\\.sql$", "");
        List<String> statements = statements(Files.readString(script, StandardCharsets.UTF_8));
        List<String> rendered = new ArrayList<>();
        TreeSet<String> missing = new TreeSet<>();
        for (String statement : statements) {
            Matcher matcher = PLACEHOLDER.matcher(statement);
            StringBuilder out = new StringBuilder();
            while (matcher.find()) {
                String value = value(matcher.group(1), job);
                if (value == null) {
                    missing.add(matcher.group(1));
                    value = "";
                }
                matcher.appendReplacement(out, Matcher.quoteReplacement(value.replace("'", "''")));
            }
            matcher.appendTail(out);
            rendered.add(out.toString());
        }
        if (!missing.isEmpty()) {
            throw new IllegalStateException("sql-runner: no value for " + String.join(", ", missing)
                    + " (set them in the environment)");
        }
        TableEnvironment tableEnv = TableEnvironment.create(EnvironmentSettings.inStreamingMode());
        for (String statement : rendered) {
            Matcher set = SET.matcher(statement.strip());
            if (set.matches()) {
                tableEnv.getConfig().set(set.group(1), set.group(2).replace("''", "'"));
            } else {
                tableEnv.executeSql(statement);
            }
        }
    }

    private static String value(String name, String job) {
        String value = System.getenv(name);
        if (value != null) {
            return value;
        }
        if (name.equals("JOB")) {
            return job;
        }
        if (name.equals("KAFKA_LOGIN_MODULE")) {
            String mechanism = value("KAFKA_SASL_MECHANISM", job);
            return SHADED + ("PLAIN".equals(mechanism) ? "plain.PlainLoginModule" : "scram.ScramLoginModule");
        }
        return DEFAULTS.get(name);
    }

    /** The statements of a script, without comments and without their closing ';'. */
    static List<String> statements(String text) {
        List<String> result = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String raw : text.split("\n", -1)) {
            String line = raw.replaceFirst("--.*", "").strip();
            if (line.isEmpty()) {
                continue;
            }
            current.append(current.length() == 0 ? "" : "\n").append(line);
            if (line.endsWith(";")) {
                result.add(current.substring(0, current.length() - 1));
                current.setLength(0);
            }
        }
        if (current.length() > 0) {
            result.add(current.toString());
        }
        return result;
    }
}
