package etcdapi

import "context"

// CallerName returns the user a request acts as: the user its token names
// or, with client certificate auth, its certificate's common name. It is
// "" when auth is off or the request carries no valid identity. It is for
// records such as an audit log; permission checks use the caller's full
// auth info.
func (s *Server) CallerName(ctx context.Context) string {
	ai, err := s.callerAuthInfo(ctx)
	if err != nil {
		return ""
	}
	return ai.User
}
