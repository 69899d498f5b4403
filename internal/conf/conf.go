package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Source labels for values that do not come from a file.
const (
	SourceDefault  = "default"
	SourceOverride = "-D"
)

// EnvConfDir is the environment variable LoadFromEnv reads.
const EnvConfDir = "HADOOP_CONF_DIR"

// entry is one stored value and where it came from.
type entry struct {
	value  string
	source string
}

// Conf is a Hadoop-style configuration: compiled-in defaults, XML resources
// layered on top, and programmatic overrides above those (see the package
// documentation for the exact order and the effect of <final>).
//
// A Conf is safe for concurrent use.
type Conf struct {
	mu struct {
		sync.RWMutex
		// props holds defaults and file values; later resources overwrite
		// earlier ones unless the key is final.
		props map[string]entry
		// final maps a key marked <final>true</final> to the file that did it.
		final map[string]string
		// overlay holds Set values; they beat props unless the key is final.
		overlay map[string]entry
		// resources lists the files loaded, in order.
		resources []string
		// warnings collects ignored overrides of final keys and similar
		// non-fatal oddities, for the caller to log.
		warnings []string
	}
}

// New returns a Conf holding only the compiled-in Hadoop defaults.
func New() *Conf {
	c := &Conf{}
	c.mu.props = make(map[string]entry, len(defaults))
	c.mu.final = make(map[string]string)
	c.mu.overlay = make(map[string]entry)
	for _, d := range defaults {
		c.mu.props[d.key] = entry{value: d.value, source: SourceDefault}
	}
	return c
}

// Load returns the defaults overlaid with dir/core-site.xml and then
// dir/hdfs-site.xml. A missing file is skipped; a file that cannot be read or
// parsed is an error naming it.
func Load(dir string) (*Conf, error) {
	c := New()
	for _, name := range []string{"core-site.xml", "hdfs-site.xml"} {
		path := filepath.Join(dir, name)
		if err := c.AddResource(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, err
		}
	}
	return c, nil
}

// LoadFromEnv is Load($HADOOP_CONF_DIR), or New() when the variable is unset
// or empty.
func LoadFromEnv() (*Conf, error) {
	dir := os.Getenv(EnvConfDir)
	if dir == "" {
		return New(), nil
	}
	return Load(dir)
}

// AddResource loads one more configuration file on top of everything loaded
// so far. Values from it beat earlier files and defaults, but not keys that an
// earlier file marked final, and not Set overrides (unless this file marks
// the key final). The file is parsed completely before anything is applied,
// so a malformed file changes nothing.
func (c *Conf) AddResource(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("conf: read %s: %w", path, err)
	}
	return c.addXML(data, path)
}

// addXML applies a parsed document; source names it in messages and sources.
func (c *Conf) addXML(data []byte, source string) error {
	pf, err := parseXML(data, source)
	if err != nil {
		return fmt.Errorf("conf: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.resources = append(c.mu.resources, source)
	for _, w := range pf.warnings {
		c.mu.warnings = append(c.mu.warnings, source+": "+w)
	}
	for _, p := range pf.props {
		c.applyPropertyLocked(p, source)
	}
	return nil
}

// applyPropertyLocked mirrors Hadoop's loadProperty: a key that is already
// final keeps its value; a property without <value> sets nothing but can
// still make the existing value final.
func (c *Conf) applyPropertyLocked(p property, source string) {
	if by, isFinal := c.mu.final[p.name]; isFinal {
		if p.hasValue && p.value != c.mu.props[p.name].value {
			c.mu.warnings = append(c.mu.warnings, fmt.Sprintf(
				"%s: line %d: attempt to override final parameter %s (final in %s); ignored",
				source, p.line, p.name, by))
		}
		return
	}
	if p.hasValue {
		c.mu.props[p.name] = entry{value: p.value, source: source}
	}
	if p.final {
		c.mu.final[p.name] = source
	}
}

// Set overrides key programmatically (this is what -D does). It beats every
// file and default, except that a key marked final in a file keeps its file
// value and the call is silently ignored; check IsFinal if it matters.
// Surrounding white space is trimmed from key, as Hadoop does.
func (c *Conf) Set(key, value string) {
	c.set(key, value, SourceOverride, false)
}

func (c *Conf) set(key, value, source string, force bool) {
	key = strings.TrimSpace(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, isFinal := c.mu.final[key]; isFinal && !force {
		return
	}
	if force {
		// Only used to install generic values derived from suffixed keys
		// (ForNameNode), which Hadoop also applies over final ones.
		delete(c.mu.final, key)
	}
	c.mu.overlay[key] = entry{value: value, source: source}
}

// IsFinal reports whether a loaded file marked key <final>true</final>.
func (c *Conf) IsFinal(key string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.mu.final[strings.TrimSpace(key)]
	return ok
}

// Clone returns an independent copy.
func (c *Conf) Clone() *Conf {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := &Conf{}
	n.mu.props = make(map[string]entry, len(c.mu.props))
	for k, v := range c.mu.props {
		n.mu.props[k] = v
	}
	n.mu.final = make(map[string]string, len(c.mu.final))
	for k, v := range c.mu.final {
		n.mu.final[k] = v
	}
	n.mu.overlay = make(map[string]entry, len(c.mu.overlay))
	for k, v := range c.mu.overlay {
		n.mu.overlay[k] = v
	}
	n.mu.resources = append([]string(nil), c.mu.resources...)
	n.mu.warnings = append([]string(nil), c.mu.warnings...)
	return n
}

// rawLocked returns the effective unexpanded value of key.
func (c *Conf) rawLocked(key string) (entry, bool) {
	if _, isFinal := c.mu.final[key]; !isFinal {
		if e, ok := c.mu.overlay[key]; ok {
			return e, true
		}
	}
	e, ok := c.mu.props[key]
	return e, ok
}

// Raw returns the value of key without ${...} expansion.
func (c *Conf) Raw(key string) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.rawLocked(strings.TrimSpace(key))
	return e.value, ok
}

// Source names where the effective value of key came from: a file path,
// "-D" for Set, or "default". It is "" when key is unset.
func (c *Conf) Source(key string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, _ := c.rawLocked(strings.TrimSpace(key))
	return e.source
}

// Get returns the value of key after ${...} expansion, and whether key is
// set at all. An empty value counts as set. The value is not trimmed (as in
// Hadoop, white space can be meaningful, e.g. in ACLs); use GetTrimmed for
// addresses and names.
//
// If expansion fails (a loop, or more than 20 substitutions) Get returns the
// unexpanded value, which is what Hadoop returns for a self-referencing value;
// Lookup and the typed getters report such failures as errors, and Validate
// checks every key.
func (c *Conf) Get(key string) (string, bool) {
	v, ok, err := c.Lookup(key)
	if err != nil {
		raw, _ := c.Raw(key)
		return raw, true
	}
	return v, ok
}

// Lookup is Get with expansion failures reported. The error is a *ValueError
// wrapping ErrSubstitutionLoop or ErrSubstitutionDepth.
func (c *Conf) Lookup(key string) (string, bool, error) {
	key = strings.TrimSpace(key)
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.rawLocked(key)
	if !ok {
		return "", false, nil
	}
	v, err := c.expandLocked(e.value)
	if err != nil {
		return "", true, &ValueError{Key: key, Value: e.value, Source: e.source, Err: err}
	}
	return v, true, nil
}

// GetString returns the expanded value of key, or def when key is unset.
func (c *Conf) GetString(key, def string) string {
	if v, ok := c.Get(key); ok {
		return v
	}
	return def
}

// GetTrimmed is GetString with surrounding white space removed from a set
// value (Hadoop's getTrimmed).
func (c *Conf) GetTrimmed(key, def string) string {
	if v, ok := c.Get(key); ok {
		return strings.TrimSpace(v)
	}
	return def
}

// GetStrings splits the value of key at commas, trims each element and drops
// empty ones. It returns nil when key is unset or holds no elements.
func (c *Conf) GetStrings(key string) []string {
	v, ok := c.Get(key)
	if !ok {
		return nil
	}
	return splitList(v)
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Keys returns every key that has a value (defaults included), sorted.
func (c *Conf) Keys() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	keys := make([]string, 0, len(c.mu.props)+len(c.mu.overlay))
	for k := range c.mu.props {
		keys = append(keys, k)
	}
	for k := range c.mu.overlay {
		if _, dup := c.mu.props[k]; !dup {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Resources lists the files loaded so far, in load order.
func (c *Conf) Resources() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.mu.resources...)
}

// Warnings returns non-fatal problems met while loading files, such as an
// ignored attempt to override a final key. Hadoop logs these; callers here
// are expected to log them with their own logger.
func (c *Conf) Warnings() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]string(nil), c.mu.warnings...)
}

// Validate expands every value and returns all expansion failures joined, or
// nil. Daemons call it at startup so a ${...} loop is reported once, clearly,
// instead of surfacing as an unexpanded value later.
func (c *Conf) Validate() error {
	var errs []error
	for _, k := range c.Keys() {
		if _, _, err := c.Lookup(k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
