package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// secrets are values each command is given somewhere a secret can be
// configured; none may appear in anything a command prints or logs.
var secrets = map[string]string{
	"nats password":          "natsPASSWORDq7",
	"openai key":             "sk-openaiKEYq7x",
	"openai key file":        "sk-openaiFILEKEYq7",
	"openai url password":    "openaiURLPASSq7",
	"openai url token":       "openaiURLTOKENq7",
	"s3 access key":          "AKIDS3ACCESSq7",
	"s3 secret key file":     "s3SECRETFILEq7",
	"s3 url password":        "s3URLPASSq7",
	"s3 url token":           "s3URLTOKENq7",
	"api token":              "apiTOKENsecret0123q7",
	"cms secret file":        "cmsSECRETfile0123q7",
	"webhook url password":   "hookURLPASSq7",
	"webhook url token":      "hookURLTOKENq7",
	"webhook secret":         "hookSECRET0123456q7",
	"aws secret key":         "awsSECRETKEYq7",
	"polly url password":     "pollyURLPASSq7",
	"polly url token":        "pollyURLTOKENq7",
	"nats user (as a token)": "natsUSERq7",
	"tsa url password":       "tsaURLPASSq7",
	"tsa url token":          "tsaURLTOKENq7",
}

// runOnce runs narrator to completion and returns its exit code and output.
func runOnce(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// stop ends a long-running process as an orchestrator would and returns
// all it wrote.
func (p *process) stop(t *testing.T) string {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30s of SIGTERM", p.name)
	}
	return p.output()
}

// TestNoSecretInOutput runs every command with a secret in each place one
// can be configured (variables, _FILE variables, user information and
// query tokens of every URL setting) and reads everything they print: help,
// start-up and shutdown logs, requests served, a narration and its status,
// and configuration errors.
func TestNoSecretInOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: filepath.Join(dir, "nats"),
		Username: secrets["nats user (as a token)"], Password: secrets["nats password"], NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	natsURL := fmt.Sprintf("nats://%s:%s@%s", secrets["nats user (as a token)"], secrets["nats password"], srv.Addr())
	file := func(name, value string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The publication's C2PA signing key: a line of the PEM stands for it.
	var certOut bytes.Buffer
	if code := run(t.Context(), []string{"c2pa", "cert", "--out", filepath.Join(dir, "c2pa")}, stdio{Out: &certOut, Err: &certOut}); code != 0 {
		t.Fatalf("c2pa cert: %s", certOut.String())
	}
	pem, err := os.ReadFile(filepath.Join(dir, "c2pa", "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := maps.Clone(secrets)
	secrets["c2pa key file"] = strings.Split(string(pem), "\n")[1]
	common := []string{
		"NATS_URL=" + natsURL,
		"NARRATOR_DATA_DIR=" + filepath.Join(dir, "data"),
		"NARRATOR_ENGINE=local",
		"OPENAI_BASE_URL=http://narrator:" + secrets["openai url password"] + "@127.0.0.1:1/v1?api-key=" + secrets["openai url token"],
		"POLLY_ENDPOINT=https://narrator:" + secrets["polly url password"] + "@polly.invalid/?sig=" + secrets["polly url token"],
		"S3_ACCESS_KEY_ID=" + secrets["s3 access key"],
		"S3_SECRET_ACCESS_KEY_FILE=" + file("s3-secret", secrets["s3 secret key file"]),
		"AWS_ACCESS_KEY_ID=AKIAEXAMPLEq7", "AWS_SECRET_ACCESS_KEY=" + secrets["aws secret key"],
		"NARRATOR_API_TOKENS=newsdesk:editor:" + secrets["api token"],
		"NARRATOR_CMS_SECRET_FILE=" + file("cms-secret", secrets["cms secret file"]),
		"NARRATOR_WEBHOOK_URLS=https://hooks:" + secrets["webhook url password"] + "@hooks.invalid/in?token=" + secrets["webhook url token"],
		"NARRATOR_WEBHOOK_SECRET=" + secrets["webhook secret"],
		"NARRATOR_C2PA_CERT_FILE=" + filepath.Join(dir, "c2pa", "cert.pem"),
		"NARRATOR_C2PA_KEY_FILE=" + filepath.Join(dir, "c2pa", "key.pem"),
	}
	tsa := "NARRATOR_C2PA_TSA_URL=http://narrator:" + secrets["tsa url password"] + "@127.0.0.1:1/tsa?token=" + secrets["tsa url token"]
	// with returns common and more, which win.
	with := func(more ...string) []string { return append(slices.Clone(common), more...) }
	withKey := with("OPENAI_API_KEY=" + secrets["openai key"])
	withKeyFile := with("OPENAI_API_KEY_FILE=" + file("openai-key", secrets["openai key file"]))
	s3 := func(endpoint string) []string {
		return with("OPENAI_API_KEY="+secrets["openai key"], "S3_BUCKET=narrator", "S3_PATH_STYLE=true", "S3_ENDPOINT="+endpoint)
	}
	outputs := map[string]string{}

	// Help of every command, in this process: flag defaults come from the
	// environment.
	for _, kv := range withKey {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	help := func(args ...string) string {
		var out bytes.Buffer
		run(t.Context(), args, stdio{In: strings.NewReader(""), Out: &out, Err: &out})
		return out.String()
	}
	top := help("help")
	outputs["help"] = top
	for _, m := range regexp.MustCompile(`(?m)^  (\S+(?: [a-z]+)?)\s{2,}`).FindAllStringSubmatch(top, -1) {
		outputs[m[1]+" --help"] = help(append(strings.Fields(m[1]), "--help")...)
	}

	_, outputs["narrate --help, with a time-stamp authority"] = runOnce(t, with(tsa), "narrate", "--help")

	// A worker's life.
	w := startProcess(t, "worker", withKey, "worker", "--stages", "clean,synth", "--engine", "openai")
	waitFor(t, "the worker to start", time.Minute, func() bool { return strings.Contains(w.output(), "worker started") })
	outputs["worker"] = w.stop(t)

	// The HTTP server's life: probes, a refused sign-in, an API call.
	s := startProcess(t, "serve", withKeyFile, "serve", "--stages", "none", "--http", "127.0.0.1:0")
	base := logged(t, s, servingAt)
	get(t, base+"/readyz")
	http.PostForm(base+"/dashboard/login", url.Values{"token": {"wrong-token-0000000000"}})
	req, _ := http.NewRequest("GET", base+"/api/narrations", nil)
	req.Header.Set("Authorization", "Bearer "+secrets["api token"])
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	outputs["serve"] = s.stop(t)

	// Configuration errors that name the URL they refuse.
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"serve, S3 endpoint with credentials", s3("http://narrator:" + secrets["s3 url password"] + "@127.0.0.1:1"), []string{"serve", "--stages", "none"}},
		{"serve, S3 endpoint with a query token", s3("http://127.0.0.1:1/?X-Amz-Security-Token=" + secrets["s3 url token"]), []string{"serve", "--stages", "none"}},
		{"serve, S3 endpoint unreachable", s3("http://127.0.0.1:1"), []string{"serve", "--stages", "none"}},
		{"narrate, OpenAI URL not http", with("OPENAI_API_KEY="+secrets["openai key"], "OPENAI_BASE_URL=ftp://narrator:"+secrets["openai url password"]+"@h/?k="+secrets["openai url token"]),
			[]string{"narrate", "--engine", "openai", "../../testdata/sample-article.html"}},
	} {
		code, out := runOnce(t, tc.env, tc.args...)
		if code == 0 {
			t.Errorf("%s: exit 0, want a configuration error:\n%s", tc.name, out)
		}
		outputs[tc.name] = out
	}

	// A narration whose speech service cannot be reached: its retries
	// name the service.
	n := startProcess(t, "narrate", withKey, "narrate", "--engine", "openai", "--data-dir", filepath.Join(dir, "unreachable"), "../../testdata/sample-article.html")
	waitFor(t, "a synth retry", time.Minute, func() bool { return strings.Contains(n.output(), "synth   retrying") })
	outputs["narrate, speech service unreachable"] = n.stop(t)

	article := file("article.txt", "Council\n\nThe council met on Tuesday and voted to repair the bridge.")

	// A narration whose time-stamp authority cannot be reached: the stitch
	// stage's retries name it.
	stamped := file("stamped.txt", "Stamped\n\nThe mayor opened the new library on Friday.")
	n = startProcess(t, "narrate", with(tsa), "narrate", stamped)
	waitFor(t, "a stitch retry", time.Minute, func() bool { return strings.Contains(n.output(), "stitch  retrying") })
	outputs["narrate, time-stamp authority unreachable"] = n.stop(t)

	// A narration through the cluster, and its status.
	code, out := runOnce(t, withKey, "narrate", "-o", filepath.Join(dir, "article.mp3"), article)
	if code != 0 {
		t.Errorf("narrate: exit %d:\n%s", code, out)
	}
	outputs["narrate"] = out
	for _, args := range [][]string{{"status", "article"}, {"status", "--json", "article"}, {"status", "no-such-job"}} {
		_, out := runOnce(t, withKey, args...)
		outputs[strings.Join(args, " ")] = out
	}

	for what, out := range outputs {
		for name, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows the %s:\n%s", what, name, out)
			}
		}
	}
	if n := len(outputs); n < 20 {
		t.Errorf("read the output of %d runs; the list of commands is shorter than expected", n)
	}
}
