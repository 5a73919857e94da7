// Package admission decides, before a write is proposed, whether the quota
// lets it in: Request describes a write as the quota contract sees it (its
// puts and its cost as etcd's backend quota counts it), and a Gate asks the
// configured policy (pluginapi/quota), falling back to the built-in one
// when a plugin cannot answer, against the store's size measured at most a
// second ago plus what it admitted since.
//
// Raising the NOSPACE alarm a policy asks for, and refusing growth while it
// is active, are the server's: alarms are replicated. It imports pluginapi
// of MetaStore's packages and etcd's protos, never gRPC server code, raft,
// host or etcdapi itself.
package admission
