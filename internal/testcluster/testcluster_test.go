package testcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/conf"
)

// echoDaemon is a stand-in for a real daemon: a TCP echo server on a fixed address.
type echoDaemon struct {
	addr string

	mu struct {
		sync.Mutex
		l     net.Listener
		conns map[net.Conn]bool
	}
	wg sync.WaitGroup
}

var _ Daemon = (*echoDaemon)(nil)

func (d *echoDaemon) Start(ctx context.Context) error {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", d.addr)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.mu.l = l
	d.mu.conns = map[net.Conn]bool{}
	d.mu.Unlock()
	d.wg.Add(1)
	go d.accept(l)
	return nil
}

func (d *echoDaemon) accept(l net.Listener) {
	defer d.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		d.mu.Lock()
		if d.mu.conns == nil { // stopping
			d.mu.Unlock()
			_ = c.Close()
			return
		}
		d.mu.conns[c] = true
		d.wg.Add(1)
		d.mu.Unlock()
		go func() {
			defer d.wg.Done()
			_, _ = io.Copy(c, c)
			_ = c.Close()
		}()
	}
}

func (d *echoDaemon) Stop() error {
	d.mu.Lock()
	l := d.mu.l
	d.mu.l = nil
	for c := range d.mu.conns {
		_ = c.Close()
	}
	d.mu.conns = nil
	d.mu.Unlock()
	if l == nil {
		return nil
	}
	err := l.Close()
	d.wg.Wait()
	return err
}

func echo(t *testing.T, addr, msg string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	if _, err := fmt.Fprintln(c, msg); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if got != msg+"\n" {
		t.Fatalf("echo %q, want %q", got, msg)
	}
}

func TestGroupRunsAndRestartsDaemon(t *testing.T) {
	CheckLeaks(t)
	addr := ReserveAddr(t, "")
	g := NewGroup(t)

	g.MustStart("echo", &echoDaemon{addr: addr})
	echo(t, addr, "hello")
	if err := g.Start(t.Context(), "echo", &echoDaemon{addr: addr}); err == nil {
		t.Fatal("second daemon under the same name started")
	}
	if d, ok := g.Get("echo"); !ok || d == nil {
		t.Fatal("Get(echo) found nothing")
	}

	if err := g.Stop("echo"); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("stopped daemon still accepts connections")
	}
	if err := g.Stop("echo"); err == nil {
		t.Fatal("stopping an unknown daemon succeeded")
	}

	// The reserved port is still ours: the daemon comes back on the same address.
	g.MustStart("echo", &echoDaemon{addr: addr})
	echo(t, addr, "again")
	// Left running on purpose: the group's cleanup stops it, and CheckLeaks verifies its
	// goroutines are gone afterwards.
}

// recorder is a Daemon that records start and stop calls.
type recorder struct {
	name     string
	log      *[]string
	startErr error
}

func (r *recorder) Start(context.Context) error {
	*r.log = append(*r.log, "start "+r.name)
	return r.startErr
}

func (r *recorder) Stop() error {
	*r.log = append(*r.log, "stop "+r.name)
	return nil
}

func TestGroupStopsInReverseOrderAtCleanup(t *testing.T) {
	var log []string
	t.Run("cluster", func(t *testing.T) {
		g := NewGroup(t)
		for _, n := range []string{"jn1", "nn1", "dn1"} {
			g.MustStart(n, &recorder{name: n, log: &log})
		}
		if got := g.Running(); !reflect.DeepEqual(got, []string{"jn1", "nn1", "dn1"}) {
			t.Errorf("Running() = %q", got)
		}
	})
	want := []string{"start jn1", "start nn1", "start dn1", "stop dn1", "stop nn1", "stop jn1"}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("calls:\n got %q\nwant %q", log, want)
	}
}

func TestGroupFailedStartIsStoppedAndNotRegistered(t *testing.T) {
	var log []string
	g := NewGroup(t)
	boom := errors.New("boom")
	err := g.Start(t.Context(), "nn1", &recorder{name: "nn1", log: &log, startErr: boom})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "nn1") {
		t.Fatalf("Start error = %v, want one naming nn1 and wrapping boom", err)
	}
	if want := []string{"start nn1", "stop nn1"}; !reflect.DeepEqual(log, want) {
		t.Errorf("calls = %q, want %q", log, want)
	}
	if len(g.Running()) != 0 {
		t.Errorf("failed daemon registered: %q", g.Running())
	}
}

func TestListenHandsOverBoundListener(t *testing.T) {
	l := Listen(t, "")
	addr := l.Addr().(*net.TCPAddr)
	if !addr.IP.Equal(net.ParseIP(DefaultHost)) || addr.Port == 0 {
		t.Fatalf("listener on %v, want %s with a port", addr, DefaultHost)
	}
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReservePortsAreDistinctBindableAndLocked(t *testing.T) {
	lo, hi, outside := reservablePortRange()
	seen := map[int]bool{}
	for i := 0; i < 20; i++ {
		p := ReservePort(t, "")
		if seen[p] {
			t.Fatalf("port %d reserved twice", p)
		}
		seen[p] = true
		if outside && (p < lo || p > hi) {
			t.Errorf("port %d outside the reservable range %d-%d", p, lo, hi)
		}
		if elo, ehi := ephemeralRange(); outside && p >= elo && p <= ehi {
			t.Errorf("port %d is in the ephemeral range %d-%d", p, elo, ehi)
		}
		if _, ok := lockPort(p); ok {
			t.Errorf("port %d could be locked again while reserved", p)
		}
	}
	for p := range seen {
		l, err := net.Listen("tcp", net.JoinHostPort(DefaultHost, strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("reserved port %d is not bindable: %v", p, err)
		}
		l.Close()
	}
}

func TestReservationEndsWithTheTest(t *testing.T) {
	var port int
	t.Run("holder", func(t *testing.T) { port = ReservePort(t, "") })
	unlock, ok := lockPort(port)
	if !ok {
		t.Fatalf("port %d still locked after its test ended", port)
	}
	unlock()
}

// fakeTB records failures and cleanups so the leak checker can be tested on itself.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	logs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}
func (f *fakeTB) Logf(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, fmt.Sprintf(format, a...))
}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func leakyWorker(stop <-chan struct{}) { <-stop }

func TestCheckLeaksReportsLeftoverGoroutine(t *testing.T) {
	ft := &fakeTB{TB: t}
	checkLeaks(ft, 50*time.Millisecond, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); leakyWorker(stop) }()
	ft.runCleanups()
	close(stop)
	wg.Wait()

	if len(ft.errors) != 1 || !strings.Contains(ft.errors[0], "leakyWorker") {
		t.Fatalf("errors = %q, want one naming leakyWorker", ft.errors)
	}
}

func TestCheckLeaksWaitsForExitingGoroutines(t *testing.T) {
	ft := &fakeTB{TB: t}
	checkLeaks(ft, LeakWait, nil)
	done := make(chan struct{})
	// Still running when the check starts; it must wait rather than report.
	go func() { defer close(done); time.Sleep(30 * time.Millisecond) }()
	ft.runCleanups()
	<-done
	if len(ft.errors) != 0 {
		t.Fatalf("unexpected leak report: %q", ft.errors)
	}
}

func TestCheckLeaksHonoursIgnore(t *testing.T) {
	ft := &fakeTB{TB: t}
	checkLeaks(ft, 20*time.Millisecond, []string{"leakyWorker"})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); leakyWorker(stop) }()
	ft.runCleanups()
	close(stop)
	<-done
	if len(ft.errors) != 0 {
		t.Fatalf("ignored goroutine reported: %q", ft.errors)
	}
}

func TestLoggerWritesToTestLog(t *testing.T) {
	ft := &fakeTB{TB: t}
	Logger(ft).Named("jn1").Debug("segment started", zap.Int64("txid", 7))
	if len(ft.logs) != 1 || !strings.Contains(ft.logs[0], "DEBUG jn1: segment started txid=7") {
		t.Fatalf("logs = %q", ft.logs)
	}
}

func TestNewHAConfigurationLoadsBack(t *testing.T) {
	ha := NewHA(t, HAOptions{NameNodes: 3, JournalNodes: 3, Extra: map[string]string{"dfs.replication": "1"}})

	// Every address distinct.
	var addrs []string
	for _, nn := range ha.NameNodes {
		addrs = append(addrs, nn.RPCAddress, nn.HTTPAddress)
	}
	for _, jn := range ha.JournalNodes {
		addrs = append(addrs, jn.RPCAddress, jn.HTTPAddress)
	}
	sorted := slices.Sorted(slices.Values(addrs))
	if len(slices.Compact(sorted)) != 12 {
		t.Fatalf("addresses not distinct: %q", addrs)
	}

	c := ha.Conf(t)
	if ns, err := c.DefaultNameservice(); err != nil || ns != "mycluster" {
		t.Fatalf("DefaultNameservice = %q, %v", ns, err)
	}
	if !c.IsHA("mycluster") {
		t.Error("nameservice is not HA")
	}
	nns, err := c.NameNodes("mycluster")
	if err != nil {
		t.Fatal(err)
	}
	if len(nns) != 3 {
		t.Fatalf("got %d NameNodes, want 3", len(nns))
	}
	for i, nn := range nns {
		want := ha.NameNodes[i]
		if nn.ID != want.ID || nn.RPCAddress != want.RPCAddress || nn.HTTPAddress != want.HTTPAddress {
			t.Errorf("NameNode %d = %+v, want %+v", i, nn, want)
		}
	}
	qj, ok, err := c.SharedEditsDir("mycluster", "nn2")
	if err != nil || !ok {
		t.Fatalf("SharedEditsDir: ok=%v err=%v", ok, err)
	}
	if qj.JournalID != "mycluster" || len(qj.Hosts) != 3 {
		t.Fatalf("qjournal = %+v", qj)
	}
	for i, h := range qj.Hosts {
		if h != ha.JournalNodes[i].RPCAddress {
			t.Errorf("journal host %d = %s, want %s", i, h, ha.JournalNodes[i].RPCAddress)
		}
	}
	if v, _ := c.Get("dfs.replication"); v != "1" {
		t.Errorf("Extra dfs.replication = %q, want 1", v)
	}
	if v, _ := c.Get(conf.KeyAutoFailover); v != "false" {
		t.Errorf("automatic failover = %q without ZooKeeper", v)
	}

	for i, want := range ha.NameNodes {
		nc := ha.NameNodeConf(t, i)
		if v, _ := nc.Get("dfs.namenode.name.dir"); v != want.NameDir {
			t.Errorf("%s name dir = %q, want %q", want.ID, v, want.NameDir)
		}
		if v, _ := nc.Get(conf.KeyNNRPCAddress); v != want.RPCAddress {
			t.Errorf("%s rpc-address = %q, want %q", want.ID, v, want.RPCAddress)
		}
		local, err := load(t, want.ConfDir).LocalNameNode("", nil)
		if err != nil || local.ID != want.ID {
			t.Errorf("LocalNameNode in %s's conf dir = %+v, %v", want.ID, local, err)
		}
		if st, err := os.Stat(want.NameDir); err != nil || !st.IsDir() {
			t.Errorf("name dir %s missing: %v", want.NameDir, err)
		}
	}
	for i, want := range ha.JournalNodes {
		jc := ha.JournalNodeConf(t, i)
		for k, v := range map[string]string{
			"dfs.journalnode.rpc-address":  want.RPCAddress,
			"dfs.journalnode.http-address": want.HTTPAddress,
			"dfs.journalnode.edits.dir":    want.EditsDir,
		} {
			if got, _ := jc.Get(k); got != v {
				t.Errorf("%s %s = %q, want %q", want.ID, k, got, v)
			}
		}
	}
}

func TestNewHADefaultsAndZooKeeper(t *testing.T) {
	ha := NewHA(t, HAOptions{ZooKeeper: "127.0.0.1:2181"})
	if len(ha.NameNodes) != 2 || len(ha.JournalNodes) != 3 || ha.Nameservice != "mycluster" {
		t.Fatalf("defaults: %d NameNodes, %d JournalNodes, nameservice %q", len(ha.NameNodes), len(ha.JournalNodes), ha.Nameservice)
	}
	c := ha.Conf(t)
	if v, _ := c.Get("ha.zookeeper.quorum"); v != "127.0.0.1:2181" {
		t.Errorf("ha.zookeeper.quorum = %q", v)
	}
	if on, err := c.GetBool(conf.KeyAutoFailover, false); err != nil || !on {
		t.Errorf("automatic failover = %v, %v; want true", on, err)
	}
}

func TestWriteSiteXMLEscapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hdfs-site.xml")
	tricky := `shell(/bin/echo "a<b" & 'c'>d)`
	if err := WriteSiteXML(path, []Property{{"dfs.ha.fencing.methods", tricky}}); err != nil {
		t.Fatal(err)
	}
	c := conf.New()
	if err := c.AddResource(path); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("dfs.ha.fencing.methods"); v != tricky {
		t.Errorf("read back %q, want %q", v, tricky)
	}
}
