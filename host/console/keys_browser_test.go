package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/metastore/metastore/host/hosttest"
)

// Browsing a prefix, reading a JSON value pretty-printed and its history,
// editing it, creating and deleting a key with confirmation: each change
// is what etcdctl then reads.
func TestConsoleKeysBrowseAndEdit(t *testing.T) {
	m := hosttest.StartMember(t)
	cli := m.Client(t)
	ctx := context.Background()
	for k, v := range map[string]string{
		"/app/config.json":   `{"replicas":3,"image":"registry/app:1.4"}`,
		"/app/feature/flags": "beta: true\nlimit: 10\n",
		"/app/binary":        "\x00\x01\xfe\xff",
		"/other/key":         "x",
	} {
		_, err := cli.Put(ctx, k, v)
		require.NoError(t, err)
	}
	_, err := cli.Put(ctx, "/app/config.json", `{"replicas":5,"image":"registry/app:1.5"}`)
	require.NoError(t, err)

	p := newPage(t)
	p.open(m.Endpoint() + "/ui/keys?prefix=/app/")
	p.waitText("#tree-list li", "config.json")
	p.waitText("#tree-list li.dir", "feature/")
	require.False(t, eval[bool](p, `document.querySelector("#tree-list").textContent.includes("other")`), "a key outside the prefix is listed")

	p.click(`#tree-list li[data-key="/app/config.json"]`)
	p.waitText("#value-kind", "json")
	require.Equal(t, "{\n  \"replicas\": 5,\n  \"image\": \"registry/app:1.5\"\n}", eval[string](p, `document.querySelector("#value").textContent`))
	require.Equal(t, "2", eval[string](p, `document.querySelector("#version").textContent`))
	p.waitText("#history", "registry/app:1.4")
	_, err = m.Etcdctl(t, "put", "/app/feature/rollout", "25%")
	require.NoError(t, err)
	p.waitText(`[data-testid="tail-event"]`, "/app/feature/rollout")
	p.screenshot("keys", true)

	p.click("#edit")
	p.fill("#edit-value", `{"replicas":7}`)
	p.click("#save")
	p.waitText("#version", "3")
	out, err := m.Etcdctl(t, "get", "--print-value-only", "/app/config.json")
	require.NoError(t, err)
	require.Equal(t, `{"replicas":7}`, strings.TrimSpace(out))

	p.click(`#tree-list li[data-key="/app/binary"]`)
	p.waitText("#value-kind", "hex")
	require.Equal(t, "00 01 fe ff", eval[string](p, `document.querySelector("#value").textContent`))
	require.True(t, eval[bool](p, `document.querySelector("#edit").disabled`), "a binary value can be edited as text")

	p.click("#new-key")
	p.fill("#edit-key", "/app/new")
	p.fill("#edit-value", "hello")
	p.click("#save")
	p.waitText("#key-name", "/app/new")
	out, err = m.Etcdctl(t, "get", "--print-value-only", "/app/new")
	require.NoError(t, err)
	require.Equal(t, "hello", strings.TrimSpace(out))

	p.click(`[data-testid="confirm"] button`)
	p.click(`[data-testid="confirm-yes"]`)
	p.waitFor(`location.search === "?prefix=%2Fapp%2F" && document.querySelector("#tree-list") && !document.querySelector('#tree-list li[data-key="/app/new"]')`)
	out, err = m.Etcdctl(t, "get", "/app/new")
	require.NoError(t, err)
	require.Empty(t, strings.TrimSpace(out))

	p.click(`#tree-list li.dir[data-dir="/app/feature/"]`)
	p.click(`#tree-list li[data-key="/app/feature/flags"]`)
	p.waitText("#value-kind", "yaml")

	// A large prefix comes a page of 100 keys at a time.
	for i := range 130 {
		_, err := cli.Put(ctx, fmt.Sprintf("/many/%03d", i), "v")
		require.NoError(t, err)
	}
	p.open(m.Endpoint() + "/ui/keys?prefix=/many/")
	p.waitFor(`document.querySelectorAll("#tree-list li[data-key]").length === 100`)
	p.click("#tree-more")
	p.waitFor(`document.querySelectorAll("#tree-list li[data-key]").length === 130 && !document.querySelector("#tree-more")`)
	require.Equal(t, "/many/129", eval[string](p, `Array.from(document.querySelectorAll("#tree-list li[data-key]")).pop().dataset.key`))
}

// A value holding markup is shown as its text: no element of it enters
// the page and no script of it runs.
func TestConsoleValueIsText(t *testing.T) {
	m := hosttest.StartMember(t)
	const value = `<script>window.injected = 1</script><img src=x onerror="window.injected = 2"><b id="bold">bold</b>`
	const key = `/xss/<i id="italic">key`
	_, err := m.Etcdctl(t, "put", key, value)
	require.NoError(t, err)

	p := newPage(t)
	p.open(m.Endpoint() + "/ui/keys?prefix=/xss/")
	p.waitText("#tree-list li", `<i id="italic">key`)
	p.click("#tree-list li[data-key]")
	p.waitText("#value", "<script>")
	require.Equal(t, value, eval[string](p, `document.querySelector("#value").textContent`))
	require.Equal(t, key, eval[string](p, `document.querySelector("#key-name").textContent`))
	time.Sleep(200 * time.Millisecond) // an injected image would have failed to load by now
	require.True(t, eval[bool](p, `window.injected === undefined && !document.querySelector("#bold, #italic, main script, main img")`),
		"the value's markup entered the page")
	p.screenshot("value-as-text", false)
}

// A YAML value is shown pretty-printed by the member, in block style with
// its comments, and as text: markup in it enters no element. Asked as
// YAML, a value that does not parse says so and is shown as written.
func TestConsoleYAMLPrettyPrinted(t *testing.T) {
	m := hosttest.StartMember(t)
	for k, v := range map[string]string{
		"/yaml/deploy": "# rollout\nserver: {host: db,   port: 5432}\ntags: [a, '<b id=\"bold\">b</b>']\n",
		"/yaml/broken": "a: [1, 2\nb: c\n",
	} {
		_, err := m.Etcdctl(t, "put", k, v)
		require.NoError(t, err)
	}

	p := newPage(t)
	p.open(m.Endpoint() + "/ui/keys?prefix=/yaml/&key=/yaml/deploy")
	p.waitText("#value-kind", "yaml")
	const pretty = "# rollout\nserver:\n  host: db\n  port: 5432\ntags:\n  - a\n  - '<b id=\"bold\">b</b>'"
	p.waitFor(`document.querySelector("#value").textContent === ` + jsString(pretty))
	require.False(t, eval[bool](p, `!!document.querySelector("#bold")`), "the value's markup entered the page")
	p.screenshot("value-yaml", false)

	p.open(m.Endpoint() + "/ui/keys?prefix=/yaml/&key=/yaml/broken")
	p.waitText("#value", "a: [1, 2")
	p.waitText("#value-kind", "text")
	p.fill("#value-mode", "yaml")
	eval[bool](p, `document.querySelector("#value-mode").dispatchEvent(new Event("change"))`)
	p.waitText("#value-kind", "text (not YAML)")
	require.Equal(t, "a: [1, 2\nb: c", eval[string](p, `document.querySelector("#value").textContent`))
}

// A put made by etcdctl appears in the keys page's live tail within a
// second.
func TestConsoleLiveTail(t *testing.T) {
	m := hosttest.StartMember(t)
	p := newPage(t)
	p.open(m.Endpoint() + "/ui/keys?prefix=/tail/")
	p.waitText("#tail-status", "Watching since revision")

	_, err := m.Etcdctl(t, "put", "/tail/job-1", "started")
	require.NoError(t, err)
	put := time.Now()
	p.waitText(`[data-testid="tail-event"]`, "/tail/job-1  =  started")
	require.Less(t, time.Since(put), time.Second, "the put took too long to appear")

	_, err = m.Etcdctl(t, "put", "/elsewhere", "x")
	require.NoError(t, err)
	_, err = m.Etcdctl(t, "del", "/tail/job-1")
	require.NoError(t, err)
	p.waitText(`[data-testid="tail-event"]`, "DELETE  /tail/job-1")
	require.False(t, eval[bool](p, `document.querySelector("#tail").textContent.includes("/elsewhere")`), "a key outside the prefix is in the tail")
	p.screenshot("live-tail", false)
}
