package zkfcrpc

import (
	"context"
	"errors"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// fakeController records the calls that got through the admin check.
type fakeController struct {
	mu    sync.Mutex
	calls []any
	err   error
}

func (c *fakeController) CedeActive(_ context.Context, millis int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, millis)
	return c.err
}

func (c *fakeController) GracefulFailover(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, "gracefulFailover")
	return c.err
}

func (c *fakeController) got() []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]any(nil), c.calls...)
}

// startServer serves cfg on 127.0.0.1 until the test ends.
func startServer(t *testing.T, cfg Config) string {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = testcluster.Logger(t)
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if err := <-done; !errors.Is(err, rpc.ErrServerClosed) {
			t.Error(err)
		}
	})
	return s.Addr().String()
}

// client returns a ZKFC client calling as user (proxied by realUser when set).
func client(t *testing.T, addr, user, realUser string) *hasvc.ZKFCClient {
	t.Helper()
	cfg := rpc.DefaultClientConfig(user)
	cfg.RealUser = realUser
	c, err := rpc.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return hasvc.NewZKFCClient(c, addr)
}

func TestServerCallsReachController(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctl := &fakeController{}
	addr := startServer(t, Config{Controller: ctl, LoginUser: "hdfs"})
	c := client(t, addr, "hdfs", "")
	ctx := context.Background()
	if err := c.GracefulFailover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.CedeActive(ctx, 10000); err != nil {
		t.Fatal(err)
	}
	// Hadoop's cedeActive(-1) arrives as the uint32 0xFFFFFFFF.
	if err := c.CedeActive(ctx, math.MaxUint32); err != nil {
		t.Fatal(err)
	}
	if got, want := ctl.got(), []any{"gracefulFailover", 10000, -1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
}

func TestServerRefusesNonAdmin(t *testing.T) {
	testcluster.CheckLeaks(t)
	ctl := &fakeController{}
	addr := startServer(t, Config{Controller: ctl, LoginUser: "hdfs", Admins: ParseACL("alice ops"),
		Groups: func(u string) []string {
			if u == "carol" {
				return []string{"users", "ops"}
			}
			return []string{"users"}
		}})
	ctx := context.Background()
	for _, tc := range []struct {
		user, real, want string
	}{
		{"bob", "", "Disallowed RPC access from bob (auth:SIMPLE) at 127.0.0.1. Not listed in dfs.cluster.administrators"},
		{"bob", "hdfs", "Disallowed RPC access from bob (auth:PROXY) via hdfs (auth:SIMPLE) at 127.0.0.1. Not listed in dfs.cluster.administrators"},
	} {
		c := client(t, addr, tc.user, tc.real)
		for name, call := range map[string]func() error{
			"gracefulFailover": func() error { return c.GracefulFailover(ctx) },
			"cedeActive":       func() error { return c.CedeActive(ctx, 1000) },
		} {
			err := call()
			var re *rpc.RemoteError
			if !errors.As(err, &re) || re.Class != "org.apache.hadoop.security.AccessControlException" || re.Message != tc.want {
				t.Fatalf("%s as %s/%s: %v", name, tc.user, tc.real, err)
			}
		}
	}
	if got := ctl.got(); len(got) != 0 {
		t.Fatalf("controller called: %v", got)
	}
	// Listed user, listed group, the ZKFC's own user.
	for _, u := range []string{"alice", "carol", "hdfs"} {
		if err := client(t, addr, u, "").GracefulFailover(ctx); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
	}
	if got := ctl.got(); len(got) != 3 {
		t.Fatalf("calls %v", got)
	}
}

func TestServerControllerErrorKeepsClass(t *testing.T) {
	testcluster.CheckLeaks(t)
	msg := "NameNode at /127.0.0.1:8020 is not currently healthy. Cannot be failover target"
	ctl := &fakeController{err: rpc.Errorf(rpc.ErrServiceFailed, "%s", msg)}
	addr := startServer(t, Config{Controller: ctl, Admins: ParseACL("*")})
	err := client(t, addr, "anyone", "").GracefulFailover(context.Background())
	var re *rpc.RemoteError
	if !errors.Is(err, rpc.ErrServiceFailed) || !errors.As(err, &re) || re.Message != msg {
		t.Fatalf("err %v", err)
	}
	// A Go error without a class travels as an IOException.
	ctl.mu.Lock()
	ctl.err = errors.New("zk: connection closed")
	ctl.mu.Unlock()
	err = client(t, addr, "anyone", "").CedeActive(context.Background(), 1)
	if !errors.Is(err, rpc.ErrIO) || err.Error() != "zk: connection closed" {
		t.Fatalf("err %v", err)
	}
}

func TestNewServerNeedsController(t *testing.T) {
	if _, err := NewServer(Config{Addr: "127.0.0.1:0"}); err == nil {
		t.Fatal("no error without a Controller")
	}
}

func haConf() *conf.Conf {
	c := conf.New()
	c.Set("dfs.nameservices", "mycluster")
	c.Set("dfs.ha.namenodes.mycluster", "nn1,nn2")
	c.Set("dfs.namenode.rpc-address.mycluster.nn1", "127.0.0.2:8020")
	c.Set("dfs.namenode.rpc-address.mycluster.nn2", "127.0.0.3:8020")
	c.Set("dfs.ha.automatic-failover.enabled", "true")
	return c
}

func TestListenAddress(t *testing.T) {
	c := haConf()
	for _, tc := range []struct {
		set  [][2]string
		nn   string
		want string
	}{
		{nil, "nn1", "127.0.0.2:8019"},
		{nil, "nn2", "127.0.0.3:8019"},
		{[][2]string{{"dfs.namenode.servicerpc-address.mycluster.nn2", "127.0.0.4:8040"}}, "nn2", "127.0.0.4:8019"},
		{[][2]string{{"dfs.ha.zkfc.port", "9019"}}, "nn1", "127.0.0.2:9019"},
		{[][2]string{{"dfs.ha.zkfc.port.mycluster", "9020"}}, "nn1", "127.0.0.2:9020"},
		{[][2]string{{"dfs.ha.zkfc.port.mycluster.nn2", "9021"}}, "nn2", "127.0.0.4:9021"},
		{[][2]string{{"dfs.ha.zkfc.port.mycluster.nn2", "9021"}}, "nn1", "127.0.0.2:9020"},
		{[][2]string{{"dfs.namenode.rpc-bind-host", "0.0.0.0"}}, "nn1", "0.0.0.0:9020"},
		{[][2]string{{"dfs.namenode.servicerpc-bind-host.mycluster.nn1", "127.0.0.9"}}, "nn1", "127.0.0.9:9020"},
	} {
		for _, kv := range tc.set {
			c.Set(kv[0], kv[1])
		}
		got, err := ListenAddress(c, "", tc.nn)
		if err != nil || got != tc.want {
			t.Fatalf("after %v: %s: %q, %v; want %q", tc.set, tc.nn, got, err, tc.want)
		}
	}
	if _, err := ListenAddress(c, "", "nn3"); !errors.Is(err, hasvc.ErrBadTarget) {
		t.Fatalf("nn3: %v", err)
	}
	c.Set("dfs.ha.zkfc.port.mycluster.nn2", "x")
	if _, err := ListenAddress(c, "", "nn2"); !errors.Is(err, conf.ErrBadValue) {
		t.Fatalf("bad port: %v", err)
	}
	c.Set("dfs.ha.zkfc.port.mycluster.nn2", "70000")
	if _, err := ListenAddress(c, "", "nn2"); err == nil {
		t.Fatal("port 70000 accepted")
	}
}

func TestConfigFromConf(t *testing.T) {
	c := haConf()
	cfg, err := ConfigFromConf(c, "mycluster", "nn1")
	if err != nil || cfg.Addr != "127.0.0.2:8019" {
		t.Fatalf("%+v, %v", cfg, err)
	}
	if cfg.Admins.Allowed("root", "", nil) || cfg.Admins.AllowsAll() {
		t.Fatal("default admin ACL allows someone")
	}
	c.Set(KeyAdmins, "root")
	if cfg, _ = ConfigFromConf(c, "mycluster", "nn1"); !cfg.Admins.Allowed("root", "", nil) {
		t.Fatal("root not allowed")
	}
}

func TestParseACL(t *testing.T) {
	groups := func(u string) []string { return map[string][]string{"g": {"wheel", "ops"}}[u] }
	for _, tc := range []struct {
		acl        string
		user, real string
		want       bool
	}{
		{"*", "anyone", "", true},
		{" * ", "anyone", "", true},
		{"alice *", "anyone", "", true},
		{"", "alice", "", false},
		{" ", "alice", "", false},
		{"alice,bob", "bob", "", true},
		{"alice,bob ", "bob", "", true},
		{"alice, bob", "bob", "", false}, // the first space starts the groups, as in Hadoop
		{"alice,bob", "carol", "", false},
		{"alice ops", "g", "", true},
		{" ops", "g", "", true},
		{" ops", "ops", "", false}, // a group name is not a user name
		{"alice", "g", "", false},
		{"~proxy", "bob", "proxy", true},
		{"~proxy", "proxy", "", false},
		{"a*b", "a*b", "", true}, // only a lone * is the wildcard
	} {
		a := ParseACL(tc.acl)
		if got := a.Allowed(tc.user, tc.real, groups); got != tc.want {
			t.Errorf("ACL %q, user %q via %q: %v, want %v", tc.acl, tc.user, tc.real, got, tc.want)
		}
	}
}
