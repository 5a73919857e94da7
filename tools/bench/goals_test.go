package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestGoalsSkipRunsWithErrors checks that a workload whose operations
// failed on either server is marked short with its first error, and its
// ratios are not compared.
func TestGoalsSkipRunsWithErrors(t *testing.T) {
	r := &report{
		Members:   1,
		Workloads: []workload{{Name: "put-500c", Clients: 500}, {Name: "range-lin", Clients: 200}},
		Summaries: []summary{
			{Workload: "put-500c", Server: "etcd", Status: statusOK, OpsPerSec: 1000, P99Ms: 10},
			{Workload: "put-500c", Server: "metastore", Status: statusOK, OpsPerSec: 3000, P99Ms: 1,
				Errors: 7, Detail: "first error: etcdserver: mvcc: database space exceeded"},
			{Workload: "range-lin", Server: "etcd", Status: statusOK, OpsPerSec: 1000},
			{Workload: "range-lin", Server: "metastore", Status: statusOK, OpsPerSec: 2000},
		},
		Ratios: []ratio{{Workload: "put-500c", Throughput: 3, P99: 0.1}, {Workload: "range-lin", Throughput: 2}},
	}
	var out bytes.Buffer
	r.printGoals(&out)
	got := out.String()
	if !strings.Contains(got, "put-500c") || !strings.Contains(got, "7 errors (first error: etcdserver: mvcc: database space exceeded") ||
		!strings.Contains(got, "not compared   SHORT") {
		t.Fatalf("the run with errors is not marked short with its error:\n%s", got)
	}
	if strings.Contains(got, "put-500c throughput") {
		t.Fatalf("a ratio of the run with errors is compared:\n%s", got)
	}
	if !strings.Contains(got, "range-lin throughput") || !strings.Contains(got, "met") {
		t.Fatalf("the run without errors is not compared:\n%s", got)
	}
}
