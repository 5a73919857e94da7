package storagetest

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/pluginapi/storage"
)

// SeedEnv names the environment variable that overrides the random
// operations test's seed, to replay a failure.
const SeedEnv = "STORAGETEST_SEED"

const (
	defaultSeed     = 20240611
	randomSteps     = 2000
	randomKeySpace  = 300
	randomNamespace = "r1"
)

// keyAlphabet holds the bytes that ordering bugs trip over.
var keyAlphabet = []byte{0x00, 0x01, 'a', 'b', 'z', 0x7f, 0x80, 0xfe, 0xff}

// randomOps drives an engine and the model with the same random steps.
type randomOps struct {
	t     *testing.T
	rng   *rand.Rand
	e     storage.Engine
	m     model
	keys  []string
	index uint64
}

func seed(t *testing.T) uint64 {
	s := uint64(defaultSeed)
	if v := os.Getenv(SeedEnv); v != "" {
		parsed, err := strconv.ParseUint(v, 10, 64)
		require.NoError(t, err, SeedEnv)
		s = parsed
	}
	t.Logf("random operations seed %d (set %s to replay)", s, SeedEnv)
	return s
}

func testRandomOperations(t *testing.T, h harness) {
	s := seed(t)
	e, dir := h.open(t)
	r := &randomOps{t: t, rng: rand.New(rand.NewPCG(s, s)), e: e, m: model{}}
	for range randomKeySpace {
		r.keys = append(r.keys, r.randomBytes(1, 4))
	}
	for step := range randomSteps {
		switch n := r.rng.IntN(100); {
		case n < 50:
			r.batch()
		case n < 65:
			r.getMany(step)
		case n < 95:
			r.scan(step)
		default:
			requireKeyCounts(t, stats(t, e), r.m)
		}
	}
	namespaces := []string{randomNamespace, "r2"}
	requireContent(t, e, r.m, namespaces...)
	buf, _ := takeSnapshot(t, e)
	restored, _ := h.open(t)
	_, err := restored.Restore(context.Background(), storage.RestoreRequest{Reader: buf})
	require.NoError(t, err)
	requireContent(t, restored, r.m, namespaces...)
	if hasCapability(t, e, storage.CapabilityDurable) {
		require.NoError(t, e.Close(context.Background()))
		e, index := h.reopen(t, dir)
		require.Equal(t, r.index, index)
		requireContent(t, e, r.m, namespaces...)
	}
}

func (r *randomOps) randomBytes(minLen, maxLen int) string {
	b := make([]byte, minLen+r.rng.IntN(maxLen-minLen+1))
	for i := range b {
		b[i] = keyAlphabet[r.rng.IntN(len(keyAlphabet))]
	}
	return string(b)
}

func (r *randomOps) namespace() string {
	return []string{randomNamespace, "r2"}[r.rng.IntN(2)]
}

func (r *randomOps) key() string { return r.keys[r.rng.IntN(len(r.keys))] }

func (r *randomOps) batch() {
	ops := make([]storage.Op, 1+r.rng.IntN(8))
	for i := range ops {
		if r.rng.IntN(10) < 7 {
			ops[i] = put(r.namespace(), r.key(), r.randomBytes(0, 24))
		} else {
			ops[i] = del(r.namespace(), r.key())
		}
	}
	r.index++
	applyIndex(r.t, r.e, r.index, ops...)
	r.m.apply(ops)
}

func (r *randomOps) getMany(step int) {
	ns := r.namespace()
	req := storage.GetManyRequest{Namespace: ns}
	for range 1 + r.rng.IntN(6) {
		req.Keys = append(req.Keys, []byte(r.key()))
	}
	resp, err := r.e.GetMany(context.Background(), req)
	require.NoError(r.t, err)
	for i, key := range req.Keys {
		want, ok := r.m.get(ns, string(key))
		require.Equal(r.t, ok, resp.Found[i], "step %d: GetMany %s/%q found", step, ns, key)
		require.Equal(r.t, want, string(resp.Values[i]), "step %d: GetMany %s/%q", step, ns, key)
	}
}

func (r *randomOps) scan(step int) {
	req := storage.ScanRequest{
		Namespace: r.namespace(),
		Reverse:   r.rng.IntN(2) == 0,
		KeysOnly:  r.rng.IntN(4) == 0,
	}
	if r.rng.IntN(4) > 0 {
		req.Start = []byte(r.randomBytes(0, 3))
	}
	if r.rng.IntN(4) > 0 {
		req.End = []byte(r.randomBytes(0, 3))
	}
	if r.rng.IntN(2) == 0 {
		req.Limit = int64(1 + r.rng.IntN(10))
	}
	got := scan(r.t, r.e, req)
	if req.KeysOnly {
		for i := range got {
			got[i].Value = ""
		}
	}
	require.Equal(r.t, nonNil(r.m.scan(req)), nonNil(got), "step %d: Scan %+v", step, req)
}
