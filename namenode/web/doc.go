// Package web is the NameNode's HTTP server (dfs.namenode.http-address, 9870 by default).
//
// It serves:
//
//	/jmx             Hadoop's JMXJsonServlet shape: {"beans":[{"name":..., "modelerType":..., attrs...}]}
//	                 ?qry=<ObjectName pattern> filters beans; ?get=<bean>::<attr> picks one attribute
//	/metrics         Prometheus text exposition (version 0.0.4) of the registered gauges and counters
//	/imagetransfer   image transfer between NameNodes (HA checkpointing):
//	                 GET  ?getimage=1[&txid=N]  streams an image (the newest without txid)
//	                 PUT  ?txid=N[&storageInfo=S] receives an image: refused before reading with
//	                                            403 (another namespace), 417 (not active) or
//	                                            409 (an upload in progress, or not newer)
//
// plus whatever the daemon adds with Handle. docs/http.md is the user-facing reference.
//
// The package knows nothing about the namesystem. Callers feed it:
//
//   - beans: RegisterBean(name, fn); fn is called on every /jmx request that selects the bean and
//     must be cheap and safe to call from any goroutine. A "modelerType" key in the returned map
//     overrides the default (the value of the name's "name=" property).
//   - metrics: RegisterGauge and RegisterCounter; fn is called on every /metrics request. Names are
//     sanitized to Prometheus' [a-zA-Z_:][a-zA-Z0-9_:]* by replacing other characters with '_'.
//     New registers the process metrics itself (go_goroutines, go_memstats_*, go_gc_cycles_total,
//     process_resident_memory_bytes).
//   - images: ServeImages(store). Until it is called /imagetransfer answers 404. The other
//     side of the transfer is DownloadImage and UploadImage (client.go); NewImageClient is
//     the http.Client to use (it waits for 100 Continue, so a refused upload sends nothing).
//     The server counts transfers on /metrics (namenode_image_*_total).
//
// Registering a bean or metric name twice replaces the earlier one.
//
// Lifecycle: New validates the configuration, Start binds the address and serves in a goroutine,
// Stop shuts down gracefully (in-flight requests get a few seconds, then their connections are
// closed) and returns only after every goroutine the server started has exited, including
// handlers still inside an ImageStore call: ImageStore implementations must return once the
// writer or reader they were given fails.
package web
