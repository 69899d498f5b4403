package conf

import (
	"fmt"
	"os"
	"strings"
)

// GenericOptions are Hadoop's generic command-line options, given right
// after the subcommand: `hdfs haadmin -D k=v -conf extra.xml -fs hdfs://ns -failover nn1 nn2`.
type GenericOptions struct {
	// Defines holds -D key=value and -Dkey=value; for a repeated key the
	// last one wins.
	Defines map[string]string
	// ConfFiles lists -conf FILE options in order.
	ConfFiles []string
	// FS is the -fs URI, already normalised ("local" becomes file:///, a
	// bare host:port becomes hdfs://host:port), or "" when not given.
	FS string
	// Rest is everything from the first argument that is not a generic
	// option; a "--" that ends the generic options is dropped.
	Rest []string
}

// ParseGenericArgs parses generic options at the start of args. Errors wrap
// ErrUsage.
func ParseGenericArgs(args []string) (*GenericOptions, error) {
	o := &GenericOptions{Defines: map[string]string{}}
	i := 0
	next := func(opt string) (string, error) {
		if i+1 >= len(args) {
			return "", fmt.Errorf("conf: %w: %s needs an argument", ErrUsage, opt)
		}
		i++
		return args[i], nil
	}
loop:
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			i++
			break loop
		case a == "-D":
			v, err := next("-D")
			if err != nil {
				return nil, fmt.Errorf("conf: %w: -D needs key=value", ErrUsage)
			}
			if err := o.define(v); err != nil {
				return nil, err
			}
		case strings.HasPrefix(a, "-D"):
			if err := o.define(a[2:]); err != nil {
				return nil, err
			}
		case a == "-conf":
			v, err := next("-conf")
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("conf: %w: -conf needs a file name", ErrUsage)
			}
			o.ConfFiles = append(o.ConfFiles, v)
		case a == "-fs":
			v, err := next("-fs")
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("conf: %w: -fs needs a URI", ErrUsage)
			}
			o.FS = fixFSName(strings.TrimSpace(v))
		default:
			break loop
		}
	}
	o.Rest = append([]string{}, args[i:]...)
	return o, nil
}

func (o *GenericOptions) define(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("conf: %w: -D %q: want key=value", ErrUsage, kv)
	}
	o.Defines[k] = v
	return nil
}

// fixFSName turns the old -fs shorthands into URIs, as Hadoop's
// FileSystem.fixName does.
func fixFSName(name string) string {
	if name == "local" {
		return "file:///"
	}
	if !strings.Contains(name, "://") {
		return "hdfs://" + name
	}
	return name
}

// Apply installs the options in c in Hadoop's order, whatever their order on
// the command line: each -conf file as a resource, then -fs as fs.defaultFS,
// then every -D. -fs and -D go through Set, so they do not beat a key marked
// final in a file.
func (o *GenericOptions) Apply(c *Conf) error {
	for _, f := range o.ConfFiles {
		if err := c.AddResource(f); err != nil {
			return err
		}
	}
	if o.FS != "" {
		c.Set(KeyDefaultFS, o.FS)
	}
	for k, v := range o.Defines {
		c.Set(k, v)
	}
	return nil
}

// ParseGenericOptions parses generic options at the start of args and returns
// the key/value overrides they amount to, plus the remaining arguments.
// Callers apply the overrides with Set.
//
// overrides holds, from lowest to highest precedence: the properties of every
// -conf file (read here, in order), fs.defaultFS from -fs, then the -D values
// (last one wins for a repeated key). Values from -conf files therefore lose
// their <final> flags and file names; use ParseGenericArgs and
// GenericOptions.Apply to load them as real resources instead.
func ParseGenericOptions(args []string) (overrides map[string]string, rest []string, err error) {
	o, err := ParseGenericArgs(args)
	if err != nil {
		return nil, nil, err
	}
	overrides = map[string]string{}
	for _, f := range o.ConfFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fmt.Errorf("conf: -conf %s: %w", f, err)
		}
		pf, err := parseXML(data, f)
		if err != nil {
			return nil, nil, fmt.Errorf("conf: -conf: %w", err)
		}
		for _, p := range pf.props {
			if p.hasValue {
				overrides[p.name] = p.value
			}
		}
	}
	if o.FS != "" {
		overrides[KeyDefaultFS] = o.FS
	}
	for k, v := range o.Defines {
		overrides[k] = v
	}
	return overrides, o.Rest, nil
}
