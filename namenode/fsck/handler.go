package fsck

import (
	"net"
	"net/http"

	"go.uber.org/zap"
)

// DefaultStaticUser is hadoop.http.staticuser.user's default: the user of a
// web request that names none.
const DefaultStaticUser = "dr.who"

// Handler serves GET /fsck as Hadoop's FsckServlet: the query parameters
// DFSck sends (ugi or user.name, path, files, blocks, locations, racks,
// openforwrite, listcorruptfileblocks, startblockafter; a flag counts when
// present, whatever its value) select the report, which streams back as
// text/plain. Parameters fsck does not implement (move, delete,
// replicadetails, ...) are ignored, as Hadoop ignores unknown ones.
func Handler(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		req := ParseRequest(r, cfg.StaticUser)
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		if r.Method == http.MethodHead {
			return
		}
		if err := Run(r.Context(), cfg, req, w); err != nil {
			cfg.Logger.Info("fsck stopped", zap.String("path", req.Path), zap.Error(err))
		}
	})
}

// ParseRequest reads a Request from FsckServlet's query parameters.
// The user is user.name, else ugi (JspHelper's order), else staticUser
// (DefaultStaticUser when empty).
func ParseRequest(r *http.Request, staticUser string) Request {
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	req := Request{
		User:                  q.Get("user.name"),
		Path:                  "/",
		Files:                 has("files"),
		Blocks:                has("blocks"),
		Locations:             has("locations"),
		Racks:                 has("racks"),
		OpenForWrite:          has("openforwrite"),
		ListCorruptFileBlocks: has("listcorruptfileblocks"),
		StartBlockAfter:       q.Get("startblockafter"),
	}
	if req.User == "" {
		req.User = q.Get("ugi")
	}
	if req.User == "" {
		req.User = staticUser
		if req.User == "" {
			req.User = DefaultStaticUser
		}
	}
	if has("path") {
		req.Path = q.Get("path")
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	req.RemoteIP = host
	return req
}
