package blockmanagement

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// ScriptResolver returns a Config.ResolveRack that runs Hadoop's
// net.topology.script.file.name: the script gets the node's IP address as
// its argument and prints its rack ("/rack1"); an empty or failed answer
// means DefaultRack. Answers are cached per address (Hadoop's
// CachedDNSToSwitchMapping). This is the package's one piece of I/O; the
// daemon builds it, the Manager only calls the function. numArgs is
// net.topology.script.number.args (one address is passed per run here).
func ScriptResolver(script string, numArgs int) func(ip, hostname string) string {
	_ = numArgs
	var mu sync.Mutex
	cache := make(map[string]string)
	return func(ip, hostname string) string {
		mu.Lock()
		defer mu.Unlock()
		if r, ok := cache[ip]; ok {
			return r
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, script, ip).Output()
		rack := ""
		if err == nil {
			if f := strings.Fields(string(out)); len(f) > 0 && strings.HasPrefix(f[0], "/") {
				rack = f[0]
			}
		}
		if rack == "" {
			rack = DefaultRack
		}
		cache[ip] = rack
		return rack
	}
}
