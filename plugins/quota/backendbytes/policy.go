package backendbytes

import (
	"context"
	"fmt"

	"github.com/metastore/metastore/pluginapi/quota"
)

// Name is the policy's name in the configuration.
const Name = "backend-bytes"

// Version is the policy's version.
const Version = "1.0.0"

// Policy admits a write while the backend stays below a byte quota.
type Policy struct {
	limit int64
}

var _ quota.Policy = (*Policy)(nil)

// New returns the policy for a quota of limit bytes; limit must be
// positive.
func New(limit int64) *Policy {
	if limit <= 0 {
		panic(fmt.Sprintf("backendbytes: quota of %d bytes", limit))
	}
	return &Policy{limit: limit}
}

// Limit returns the quota in bytes.
func (p *Policy) Limit() int64 { return p.limit }

// Info names the policy.
func (p *Policy) Info(context.Context) (quota.InfoResponse, error) {
	return quota.InfoResponse{Name: Name, Version: Version}, nil
}

// Check admits req when the backend plus its cost stays under the quota, as
// etcd's backend quota does; otherwise it refuses it and asks for NOSPACE.
// A write of no cost is always admitted.
func (p *Policy) Check(_ context.Context, req quota.CheckRequest) (quota.CheckResponse, error) {
	if req.Cost < 0 {
		return quota.CheckResponse{}, fmt.Errorf("%w: negative cost %d", quota.ErrInvalidRequest, req.Cost)
	}
	if req.Cost == 0 || req.Usage.BackendBytes+req.Cost < p.limit {
		return quota.CheckResponse{Admit: true}, nil
	}
	return quota.CheckResponse{
		Alarm:  quota.AlarmNoSpace,
		Reason: fmt.Sprintf("backend of %d bytes plus %d would reach the quota of %d bytes", req.Usage.BackendBytes, req.Cost, p.limit),
	}, nil
}
