package hasvc_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/hdfsha/hdfsha/internal/conf"
	"github.com/hdfsha/hdfsha/internal/rpc"
	"github.com/hdfsha/hdfsha/internal/testcluster"
	"github.com/hdfsha/hdfsha/zkfc/hasvc"
	"github.com/hdfsha/hdfsha/zkfc/hasvc/hasvctest"
)

func newRPC(t *testing.T) *rpc.Client {
	t.Helper()
	c, err := rpc.NewClient(rpc.DefaultClientConfig("tester"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestClientCalls(t *testing.T) {
	testcluster.CheckLeaks(t)
	srv := hasvctest.Start(t, hasvctest.Behaviour{State: hasvc.StateStandby, NotReady: "still in safe mode"})
	c := hasvc.NewClient(newRPC(t), srv.Addr())
	ctx := t.Context()

	st, err := c.GetServiceStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st != (hasvc.Status{State: hasvc.StateStandby, NotReadyReason: "still in safe mode"}) {
		t.Fatalf("status %+v", st)
	}
	if err := c.MonitorHealth(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.TransitionToActive(ctx, hasvc.RequestByUserForced); err != nil {
		t.Fatal(err)
	}
	if st, _ := c.GetServiceStatus(ctx); st.State != hasvc.StateActive {
		t.Fatalf("state %v after transitionToActive", st.State)
	}
	if err := c.TransitionToStandby(ctx, hasvc.RequestByZKFC); err != nil {
		t.Fatal(err)
	}
	want := []string{"getServiceStatus", "monitorHealth", "transitionToActive REQUEST_BY_USER_FORCED",
		"getServiceStatus", "transitionToStandby REQUEST_BY_ZKFC"}
	if got := srv.Calls(); !reflect.DeepEqual(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}

	// Errors keep their Java class across the wire.
	srv.Set(func(b *hasvctest.Behaviour) {
		b.HealthErr = rpc.Errorf(rpc.ErrHealthCheckFailed, "The NameNode has no resources available")
		b.ToActiveErr = rpc.Errorf(rpc.ErrServiceFailed, "cannot")
	})
	if err := c.MonitorHealth(ctx); !errors.Is(err, rpc.ErrHealthCheckFailed) || err.Error() != "The NameNode has no resources available" {
		t.Fatalf("monitorHealth: %v", err)
	}
	if err := c.TransitionToActive(ctx, hasvc.RequestByUser); !errors.Is(err, rpc.ErrServiceFailed) {
		t.Fatalf("transitionToActive: %v", err)
	}
}

func TestStateName(t *testing.T) {
	for s, want := range map[hasvc.State]string{
		hasvc.StateActive: "active", hasvc.StateStandby: "standby",
		hasvc.StateInitializing: "initializing", hasvc.StateObserver: "observer",
	} {
		if got := hasvc.StateName(s); got != want {
			t.Errorf("%v: %q", s, got)
		}
	}
}

func haConf() *conf.Conf {
	c := conf.New()
	c.Set("dfs.nameservices", "mycluster")
	c.Set("dfs.ha.namenodes.mycluster", "nn1,nn2")
	c.Set("dfs.namenode.rpc-address.mycluster.nn1", "127.0.0.1:8020")
	c.Set("dfs.namenode.rpc-address.mycluster.nn2", "127.0.0.2:8020")
	return c
}

func TestTargetFromConf(t *testing.T) {
	c := haConf()
	c.Set("dfs.namenode.servicerpc-address.mycluster.nn2", "127.0.0.2:8040")
	c.Set("dfs.ha.fencing.methods", "shell(/bin/true)")
	c.Set("dfs.ha.fencing.methods.mycluster.nn2", "sshfence")

	t1, err := hasvc.TargetFromConf(c, "", "nn1")
	if err != nil {
		t.Fatal(err)
	}
	t1.Resolve(t.Context(), nil)
	if t1.Address != "127.0.0.1:8020" || t1.Nameservice != "mycluster" || t1.FencingMethods != "shell(/bin/true)" || t1.AutoFailover || t1.ZKFCAddress != "" {
		t.Fatalf("nn1: %+v", t1)
	}
	if t1.String() != "NameNode at /127.0.0.1:8020" {
		t.Fatalf("String %q", t1.String())
	}
	want := map[string]string{"address": "/127.0.0.1:8020", "host": "127.0.0.1", "port": "8020",
		"nameserviceid": "mycluster", "namenodeid": "nn1"}
	if got := t1.FencingParameters(); !reflect.DeepEqual(got, want) {
		t.Fatalf("fencing parameters %v", got)
	}

	// servicerpc-address wins; per-NameNode fencing methods win.
	t2, err := hasvc.TargetFromConf(c, "mycluster", "nn2")
	if err != nil {
		t.Fatal(err)
	}
	if t2.Address != "127.0.0.2:8040" || t2.FencingMethods != "sshfence" {
		t.Fatalf("nn2: %+v", t2)
	}

	c.Set("dfs.ha.automatic-failover.enabled.mycluster", "true")
	c.Set("dfs.ha.zkfc.port", "8099")
	t2, err = hasvc.TargetFromConf(c, "mycluster", "nn2")
	if err != nil {
		t.Fatal(err)
	}
	if !t2.AutoFailover || t2.ZKFCAddress != "127.0.0.2:8099" {
		t.Fatalf("auto failover: %+v", t2)
	}
}

func TestTargetErrors(t *testing.T) {
	c := haConf()
	_, err := hasvc.TargetFromConf(c, "", "nn3")
	if !errors.Is(err, hasvc.ErrBadTarget) || err.Error() != "Unable to determine service address for namenode 'nn3'" {
		t.Fatalf("unknown nn: %v", err)
	}
	c.Set("dfs.nameservices", "ns1,ns2")
	_, err = hasvc.TargetFromConf(c, "", "nn1")
	if !errors.Is(err, hasvc.ErrBadTarget) || err.Error() != "Unable to determine the name service ID. "+
		"This is an HA configuration with multiple name services configured. dfs.nameservices is set to [ns1, ns2]. "+
		"Please re-run with the -ns option." {
		t.Fatalf("several nameservices: %v", err)
	}
	if _, err := hasvc.TargetFromConf(conf.New(), "", "nn1"); !errors.Is(err, hasvc.ErrBadTarget) || err.Error() != "Unable to determine the name service ID." {
		t.Fatalf("no nameservice: %v", err)
	}
	ids, err := hasvc.TargetIDs(haConf(), "")
	if err != nil || !reflect.DeepEqual(ids, []string{"nn1", "nn2"}) {
		t.Fatalf("TargetIDs %v %v", ids, err)
	}
}

func TestSocketAddress(t *testing.T) {
	for tg, want := range map[hasvc.Target]string{
		{Address: "127.0.0.1:8020"}:                       "/127.0.0.1:8020",
		{Address: "nn1.example.com:8020", IP: "10.0.0.1"}: "nn1.example.com/10.0.0.1:8020",
		{Address: "nn1.example.com:8020"}:                 "nn1.example.com/<unresolved>:8020",
	} {
		if got := tg.SocketAddress(); got != want {
			t.Errorf("%s: %q, want %q", tg.Address, got, want)
		}
	}
}
