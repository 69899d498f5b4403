package fence

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// ErrBadConfig is Hadoop's BadFencingConfigurationException: the fencing
// methods cannot be parsed, name an unknown method, or have bad arguments.
// Errors wrapping it carry Hadoop's text.
var ErrBadConfig = errors.New("bad fencing configuration")

type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }
func (e *configError) Unwrap() error { return ErrBadConfig }

func badConfig(format string, a ...any) error {
	return &configError{fmt.Sprintf(format, a...)}
}

// Method is one kind of fencing method.
type Method interface {
	// ClassName is the method's Java class, which names it in logs.
	ClassName() string
	// CheckArgs validates the argument when the configuration is parsed;
	// hasArg is false for a method written without parentheses. An error
	// wraps ErrBadConfig.
	CheckArgs(arg string, hasArg bool) error
	// TryFence fences target. It returns true when target can no longer act
	// as active, false when the method could not make sure of that. An error
	// wrapping ErrBadConfig means the method is misconfigured; any other
	// error is unexpected. Both count as unsuccessful.
	TryFence(ctx context.Context, target hasvc.Target, arg string) (bool, error)
}

// StandardMethods are the methods Hadoop ships, by short name and by Java
// class name: shell and sshfence, logging to log (nil logs nothing).
func StandardMethods(log *zap.Logger) map[string]Method {
	if log == nil {
		log = zap.NewNop()
	}
	sh, ssh := &Shell{Log: log.Named("shell")}, &SSH{Log: log.Named("sshfence")}
	return map[string]Method{
		"shell": sh,
		"org.apache.hadoop.ha.ShellCommandFencer": sh,
		"sshfence":                               ssh,
		"org.apache.hadoop.ha.SshFenceByTcpPort": ssh,
	}
}

// configured is one line of dfs.ha.fencing.methods.
type configured struct {
	method Method
	arg    string
	hasArg bool
}

// String is how Hadoop names the method in logs: "Class(arg)", "(null)"
// for a method without an argument.
func (m configured) String() string {
	arg := m.arg
	if !m.hasArg {
		arg = "null"
	}
	return m.method.ClassName() + "(" + arg + ")"
}

// Fencer is a parsed dfs.ha.fencing.methods: the methods tried in order
// until one succeeds (Hadoop's NodeFencer).
type Fencer struct {
	methods []configured
	log     *zap.Logger
}

var (
	lineSplitRE  = regexp.MustCompile(`\s*\n\s*`)
	commentRE    = regexp.MustCompile(`#.*$`)
	withArgRE    = regexp.MustCompile(`^([a-zA-Z0-9.$]+)\((.+?)\)$`)
	withoutArgRE = regexp.MustCompile(`^([a-zA-Z0-9.$]+)$`)
)

// Parse reads a dfs.ha.fencing.methods value: one method per line, each
// "name(arg)" or "name", '#' starting a comment. methods maps names to
// methods; nil means StandardMethods. log receives the fencing progress; nil
// logs nothing. Errors wrap ErrBadConfig and carry Hadoop's text.
func Parse(spec string, methods map[string]Method, log *zap.Logger) (*Fencer, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if methods == nil {
		methods = StandardMethods(log)
	}
	f := &Fencer{log: log}
	for _, line := range lineSplitRE.Split(spec, -1) {
		line = strings.TrimSpace(commentRE.ReplaceAllString(line, ""))
		if line == "" {
			continue
		}
		var name, arg string
		hasArg := false
		if m := withArgRE.FindStringSubmatch(line); m != nil {
			name, arg, hasArg = m[1], m[2], true
		} else if m := withoutArgRE.FindStringSubmatch(line); m != nil {
			name = m[1]
		} else {
			return nil, badConfig("Unable to parse line: '%s'", line)
		}
		method, ok := methods[name]
		if !ok {
			return nil, badConfig("Could not find configured fencing method %s", name)
		}
		if err := method.CheckArgs(arg, hasArg); err != nil {
			return nil, err
		}
		f.methods = append(f.methods, configured{method: method, arg: arg, hasArg: hasArg})
	}
	return f, nil
}

// Len is the number of configured methods.
func (f *Fencer) Len() int { return len(f.methods) }

// Methods names the configured methods as the logs do.
func (f *Fencer) Methods() []string {
	out := make([]string, len(f.methods))
	for i, m := range f.methods {
		out[i] = m.String()
	}
	return out
}

// Fence tries each method in order and reports whether one fenced target.
func (f *Fencer) Fence(ctx context.Context, target hasvc.Target) bool {
	log := f.log.With(zap.Stringer("target", target))
	log.Info("====== Beginning Service Fencing Process... ======")
	for i, m := range f.methods {
		log.Info(fmt.Sprintf("Trying method %d/%d: %s", i+1, len(f.methods), m))
		ok, err := m.method.TryFence(ctx, target, m.arg)
		switch {
		case err != nil && errors.Is(err, ErrBadConfig):
			log.Error(fmt.Sprintf("Fencing method %s misconfigured", m), zap.Error(err))
			continue
		case err != nil:
			log.Error(fmt.Sprintf("Fencing method %s failed with an unexpected error.", m), zap.Error(err))
			continue
		case ok:
			log.Info(fmt.Sprintf("====== Fencing successful by method %s ======", m))
			return true
		}
		log.Warn(fmt.Sprintf("Fencing method %s was unsuccessful.", m))
	}
	log.Error("Unable to fence service by any configured method.")
	return false
}
