// Package version holds the build identity of hdfsha binaries, printed by `hdfs version`
// and logged by every daemon at startup.
//
// Release builds stamp the variables with the linker:
//
//	go build -ldflags "\
//	  -X github.com/hdfsha/hdfsha/internal/version.Version=1.0.0 \
//	  -X github.com/hdfsha/hdfsha/internal/version.Revision=$(git rev-parse HEAD) \
//	  -X github.com/hdfsha/hdfsha/internal/version.BuildUser=$(id -un) \
//	  -X github.com/hdfsha/hdfsha/internal/version.BuildDate=$(date -u +%Y-%m-%dT%H:%MZ)" \
//	  ./cmd/hdfs
//
// Unstamped builds fall back to what the Go toolchain recorded (module version, VCS
// revision and time when available) and otherwise say "unknown".
package version

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Stamped at link time with -X; see the package comment. Empty means "not stamped".
var (
	Version   string
	Revision  string
	BuildUser string
	BuildDate string
)

const (
	// DevVersion is reported when neither the linker nor the Go toolchain supplied one.
	DevVersion = "0.1.0-dev"
	// Repository is where the source lives.
	Repository = "https://github.com/hdfsha/hdfsha"
	// HadoopMajor is the Hadoop release line whose clients and tools this build speaks to.
	HadoopMajor = 3
	// IPCVersion is the Hadoop RPC protocol version on the wire (the byte after "hrpc").
	IPCVersion = 9
)

// Info is the resolved build identity.
type Info struct {
	Version   string
	Revision  string
	BuildUser string
	BuildDate string
	GoVersion string
	Platform  string
}

// Get resolves the build identity from the stamped variables and the Go build info.
func Get() Info {
	info := Info{
		Version:   Version,
		Revision:  Revision,
		BuildUser: BuildUser,
		BuildDate: BuildDate,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Revision == "" {
					info.Revision = s.Value
				}
			case "vcs.time":
				if info.BuildDate == "" {
					info.BuildDate = s.Value
				}
			}
		}
	}
	if info.Version == "" {
		info.Version = DevVersion
	}
	for _, p := range []*string{&info.Revision, &info.BuildUser, &info.BuildDate} {
		if *p == "" {
			*p = "unknown"
		}
	}
	return info
}

// Compatibility is the one-line statement of which Hadoop peers this build talks to.
func Compatibility() string {
	return fmt.Sprintf("Compatible with Hadoop %d clients and tools (IPC protocol version %d)", HadoopMajor, IPCVersion)
}

// Write prints the report `hdfs version` shows, in the shape of `hadoop version`: the
// product and version first, then source, build and compatibility lines. executable is
// the path of the running binary, the counterpart of Hadoop's "run using <jar>" line;
// empty leaves that line out.
func (i Info) Write(w io.Writer, executable string) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format+"\n", a...)
		}
	}
	p("hdfsha %s", i.Version)
	p("Source code repository %s -r %s", Repository, i.Revision)
	p("Compiled by %s on %s", i.BuildUser, i.BuildDate)
	p("Compiled with %s for %s", i.GoVersion, i.Platform)
	p("%s", Compatibility())
	if executable != "" {
		p("This command was run using %s", executable)
	}
	return err
}
