package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFlagsAndEnvironment(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	if err != nil || c.listen != "127.0.0.1:8778" || c.database != "placement.db" || c.auth != "noauth2" || c.maxBody != 1<<20 {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	t.Setenv("PLACEMENT_DATABASE", "memory")
	t.Setenv("PLACEMENT_AUTH", "trusted-proxy")
	c, err = parseFlags([]string{"--listen", ":0"}, io.Discard)
	if err != nil || c.database != "memory" || c.auth != "trusted-proxy" || c.listen != ":0" {
		t.Fatalf("env and flags: %+v %v", c, err)
	}
	var help bytes.Buffer
	if _, err := parseFlags([]string{"--help"}, &help); err == nil || !strings.Contains(help.String(), "PLACEMENT_DATABASE") {
		t.Errorf("help: %v %s", err, help.String())
	}
	if _, err := parseFlags([]string{"extra"}, io.Discard); err == nil {
		t.Error("extra arguments accepted")
	}
	if err := run(context.Background(), []string{"--auth", "nope", "--database", "memory"}, io.Discard, nil); err == nil {
		t.Error("bad --auth accepted")
	}
}

func serveAndStop(t *testing.T, database string) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--database", database, "--log-level", "error"}, io.Discard,
			func(addr string) { addrc <- addr })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		if database != "memory" && err != nil && strings.Contains(err.Error(), "cgo") {
			t.Skipf("SQLite unavailable in this build: %v", err)
		}
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/resource_providers", strings.NewReader(`{"name": "cn1"}`))
	req.Header.Set("X-Auth-Token", "admin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("create: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no graceful shutdown")
	}
}

func TestServeMemory(t *testing.T) { serveAndStop(t, "memory") }

func TestServeSQLite(t *testing.T) { serveAndStop(t, filepath.Join(t.TempDir(), "placement.db")) }
