package host

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/metastore/metastore/host/config"
)

// newLogger builds the logger etcd's --logger=zap builds: --log-format
// json (the default) or console, written to each of --log-outputs
// (stderr, stdout, or file paths), at --log-level. The returned level
// changes the logger's level live.
func newLogger(cfg config.Config) (*zap.Logger, zap.AtomicLevel, error) {
	lvl, err := config.ParseLogLevel(cfg.LogLevel)
	if err != nil {
		return nil, zap.AtomicLevel{}, err
	}
	level := zap.NewAtomicLevelAt(lvl)
	zc := zap.NewProductionConfig()
	zc.Level = level
	zc.Sampling = nil
	zc.Encoding = cfg.LogFormat
	zc.EncoderConfig.TimeKey = "ts"
	zc.EncoderConfig.EncodeTime = encodeTime
	zc.EncoderConfig.EncodeDuration = zapcore.StringDurationEncoder
	zc.OutputPaths = cfg.LogOutputPaths()
	if cfg.EnableLogRotation {
		r, err := cfg.LogRotation()
		if err != nil {
			return nil, zap.AtomicLevel{}, err
		}
		rotateSink(r)
		for i, o := range zc.OutputPaths {
			if o == r.File {
				zc.OutputPaths[i] = "rotate:" + r.File
			}
		}
	}
	zc.ErrorOutputPaths = zc.OutputPaths
	lg, err := zc.Build()
	if err != nil {
		return nil, zap.AtomicLevel{}, fmt.Errorf("building the logger: %w", err)
	}
	return lg, level, nil
}

// rotateSink registers zap's "rotate:" sink: the one rotated log file, as
// lumberjack rotates it (etcd's choice too). The sink is registered once per
// process; a later call only changes the rotation it applies.
func rotateSink(r config.LogRotation) {
	rotation.Lock()
	defer rotation.Unlock()
	rotation.logger = &lumberjack.Logger{Filename: r.File, MaxSize: r.MaxSizeMB, MaxAge: r.MaxAgeDays,
		MaxBackups: r.MaxBackups, LocalTime: r.LocalTime, Compress: r.Compress}
	rotation.once.Do(func() {
		_ = zap.RegisterSink("rotate", func(*url.URL) (zap.Sink, error) {
			rotation.Lock()
			defer rotation.Unlock()
			return rotatedFile{rotation.logger}, nil
		})
	})
}

var rotation struct {
	sync.Mutex
	once   sync.Once
	logger *lumberjack.Logger
}

// rotatedFile is a lumberjack logger as a zap sink; lumberjack writes
// through to the file, so there is nothing to sync.
type rotatedFile struct{ *lumberjack.Logger }

func (rotatedFile) Sync() error { return nil }

// logTimeLayout is etcd's log timestamp: microseconds and the zone offset
// (Z in UTC), so that tools reading etcd's logs read MetaStore's.
const logTimeLayout = "2006-01-02T15:04:05.000000Z0700"

func encodeTime(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	enc.AppendString(t.Format(logTimeLayout))
}

// slowReadInterceptor warns, as etcd does, of a range slower than slow
// (--warning-apply-duration). Writes are timed where they are applied.
func slowReadInterceptor(lg *zap.Logger, slow time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		rr, ok := req.(*pb.RangeRequest)
		if !ok {
			return handler(ctx, req)
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		if took := time.Since(start); took > slow {
			fields := []zap.Field{
				zap.Duration("took", took),
				zap.Duration("expected-duration", slow),
				zap.String("prefix", "read-only range "),
				zap.Stringer("request", rangeSummary{rr}),
			}
			if r, ok := resp.(*pb.RangeResponse); ok {
				fields = append(fields, zap.String("response", fmt.Sprintf("range_response_count:%d size:%d", len(r.GetKvs()), proto.Size(r))))
			}
			if err != nil {
				fields = append(fields, zap.Error(err))
			}
			lg.Warn("apply request took too long", fields...)
		}
		return resp, err
	}
}

// rangeSummary prints a range request without its values, as etcd's
// warning does.
type rangeSummary struct{ r *pb.RangeRequest }

func (s rangeSummary) String() string {
	return fmt.Sprintf("key:%q range_end:%q limit:%d serializable:%t keys_only:%t count_only:%t",
		s.r.GetKey(), s.r.GetRangeEnd(), s.r.GetLimit(), s.r.GetSerializable(), s.r.GetKeysOnly(), s.r.GetCountOnly())
}
