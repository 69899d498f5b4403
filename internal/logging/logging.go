package logging

import (
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Format selects how entries are rendered.
type Format string

const (
	// FormatConsole renders one human-readable line per entry (the default).
	FormatConsole Format = "console"
	// FormatJSON renders one JSON object per line.
	FormatJSON Format = "json"
)

// OffLevel disables every entry, like Hadoop's OFF. It sits above zap's highest level.
const OffLevel = zapcore.FatalLevel + 1

// Options configure New. The zero value logs INFO and above in console format to stderr.
type Options struct {
	// Level is the lowest level written. The zero value is zapcore.InfoLevel.
	Level zapcore.Level
	// Format is FormatConsole or FormatJSON; empty means FormatConsole.
	Format Format
	// Output receives the encoded entries; nil means os.Stderr. Writes are serialized, so a
	// plain bytes.Buffer is fine.
	Output io.Writer
	// Name, if set, names the root logger (Logger.Named) and shows in every entry.
	Name string
	// Caller adds the calling file:line to every entry.
	Caller bool
}

// New builds a logger from opts. It fails only for an unknown Format.
func New(opts Options) (*zap.Logger, error) {
	enc, err := NewEncoder(opts.Format)
	if err != nil {
		return nil, err
	}
	out := opts.Output
	if out == nil {
		out = os.Stderr
	}
	ws := zapcore.Lock(zapcore.AddSync(out))
	core := zapcore.NewCore(enc, ws, zap.NewAtomicLevelAt(opts.Level))
	zopts := []zap.Option{zap.ErrorOutput(ws)}
	if opts.Caller {
		zopts = append(zopts, zap.AddCaller())
	}
	log := zap.New(core, zopts...)
	if opts.Name != "" {
		log = log.Named(opts.Name)
	}
	return log, nil
}

// NewEncoder returns the encoder New uses for format, for callers that assemble their own
// zapcore.Core (for example to tee into a test's log).
func NewEncoder(format Format) (zapcore.Encoder, error) {
	switch format {
	case "", FormatConsole:
		return newKVEncoder(), nil
	case FormatJSON:
		return zapcore.NewJSONEncoder(jsonEncoderConfig()), nil
	default:
		return nil, fmt.Errorf("unknown log format %q (want console or json)", string(format))
	}
}

// ParseFormat accepts "console" or "json" in any case; empty means console.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "console":
		return FormatConsole, nil
	case "json":
		return FormatJSON, nil
	default:
		return "", fmt.Errorf("unknown log format %q (want console or json)", s)
	}
}

func jsonEncoderConfig() zapcore.EncoderConfig {
	return zapcore.EncoderConfig{
		TimeKey:        "ts",
		LevelKey:       "level",
		NameKey:        "logger",
		CallerKey:      "caller",
		FunctionKey:    zapcore.OmitKey,
		MessageKey:     "msg",
		StacktraceKey:  "stacktrace",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.LowercaseLevelEncoder,
		EncodeTime:     zapcore.ISO8601TimeEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeCaller:   zapcore.ShortCallerEncoder,
	}
}

// ParseLevel reads a level name. Hadoop's log4j names are accepted in any case: ALL and
// TRACE become debug (zap has nothing finer), DEBUG, INFO, WARN, ERROR and FATAL map to
// their zap twins, OFF becomes OffLevel. WARNING is accepted as WARN.
func ParseLevel(s string) (zapcore.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "ALL", "TRACE", "DEBUG":
		return zapcore.DebugLevel, nil
	case "INFO":
		return zapcore.InfoLevel, nil
	case "WARN", "WARNING":
		return zapcore.WarnLevel, nil
	case "ERROR":
		return zapcore.ErrorLevel, nil
	case "FATAL":
		return zapcore.FatalLevel, nil
	case "OFF":
		return OffLevel, nil
	default:
		return zapcore.InfoLevel, fmt.Errorf("unknown log level %q (want one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL, OFF)", s)
	}
}

// ParseRootLogger reads the HADOOP_ROOT_LOGGER shape "LEVEL[,appender...]", for example
// "INFO,console" or "DEBUG,RFA". It returns the level and the appender names as written.
// Appenders are reported, not interpreted: every hdfsha process writes to its Output.
func ParseRootLogger(s string) (zapcore.Level, []string, error) {
	parts := strings.Split(s, ",")
	level, err := ParseLevel(parts[0])
	if err != nil {
		return level, nil, fmt.Errorf("HADOOP_ROOT_LOGGER %q: %w", s, err)
	}
	var appenders []string
	for _, p := range parts[1:] {
		if p = strings.TrimSpace(p); p != "" {
			appenders = append(appenders, p)
		}
	}
	return level, appenders, nil
}
