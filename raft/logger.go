package raft

import (
	etcdraft "go.etcd.io/raft/v3"
	"go.uber.org/zap"
)

// raftLogger adapts a zap logger to the raft library's Logger interface.
type raftLogger struct {
	*zap.SugaredLogger
}

var _ etcdraft.Logger = raftLogger{}

func newRaftLogger(lg *zap.Logger) raftLogger {
	return raftLogger{lg.Sugar()}
}

// Warning logs at warn level.
func (l raftLogger) Warning(args ...any) { l.Warn(args...) }

// Warningf logs at warn level.
func (l raftLogger) Warningf(format string, args ...any) { l.Warnf(format, args...) }
