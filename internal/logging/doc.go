// Package logging builds the zap loggers every hdfsha daemon and tool uses.
//
// One constructor, New, turns Options into a *zap.Logger. Two output formats exist:
//
//   - console (the default): one human line per entry in the shape operators know from
//     Hadoop's log4j layout, with structured fields appended as key=value pairs:
//
//     2024-05-01 10:00:00,123 INFO namenode: entering active state txid=42 epoch=3
//
//   - json: one JSON object per line (keys ts, level, logger, msg, then the fields) for
//     log shippers.
//
// Levels accept Hadoop's names (ALL, TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF) in any
// case, so `--loglevel DEBUG` and HADOOP_ROOT_LOGGER=DEBUG,console mean what they mean for
// Hadoop. zap has no trace level: TRACE and ALL map to debug.
//
// The package holds no global state: callers keep the logger they build and pass it down
// (named per component with Logger.Named). Call Sync before the process exits.
package logging
