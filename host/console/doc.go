// Package console serves MetaStore's web console under /ui/ on a member's
// client URLs: pages for the cluster, keys, leases, auth, plugins and
// metrics, drawn in the browser from the member's own client API.
//
// The console holds no data and has no privileges of its own. Every read
// and write the pages make goes to the member's JSON gateway of the gRPC
// API (/v3/...) through /ui/api/v3/..., with the token of the user who
// logged in, so auth, quotas and raft apply exactly as for etcdctl; reads
// ask for bounded pages (a limit and the key after the last one shown), so
// an open console never hurts the data path. Besides the gateway, the
// handler answers six requests of its own: login (etcd's Authenticate,
// whose token it keeps in an HttpOnly, SameSite=Strict cookie, Secure on
// https), logout, the plugin catalog with what this process knows of
// each plugin (for root only when auth is on), another member's Status
// and what its /health says (etcd's {"health": "true"}, which the
// cluster page shows as the member's health), each asked of that member
// at a client URL the member list gives, and a YAML value the keys page
// read, sent back pretty-printed (at most 1 MiB, for a logged in user
// when auth is on; it reads no key). The member's /metrics, served beside
// it, feed the metrics page.
//
// Every request to /ui/api must carry the X-MetaStore-Console header and,
// when the browser names one, a same-origin Origin: a cross-site page can
// neither set that header without a preflight, which the console never
// allows, nor make a same-origin request, so it cannot act with a logged
// in user's cookie. Pages put keys and values into the document as text
// (textContent), never as markup.
//
// The front end is hand-written ES modules and one CSS file under
// assets/, embedded with go:embed and served as they are: no build step,
// no npm dependency and nothing fetched from elsewhere. It is small,
// there is nothing to keep updated but the code itself, the binary builds
// reproducibly offline, and the console works where the member's network
// reaches nothing else.
//
// console imports, of MetaStore, host/config (the plugin catalog's
// entries) and host/plugin (what this process knows of each plugin) only;
// the member hands it the gateway and a function returning the catalog
// in effect, so that the plugins page follows config reloads.
package console
