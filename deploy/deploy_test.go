// Package deploy holds narrator's container image, compose file, Kubernetes
// manifests and NATS configuration. Its tests check them against the
// binary they deploy: the binary is built and asked, through its own help
// and by running it, which commands, flags, variables and stages it
// accepts, so that a manifest cannot drift from the code.
package deploy

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// narrator is what the binary built for this test run accepts.
var narrator *cli

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "narrator-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		bin, err := buildNarrator(dir)
		if err == nil {
			narrator, err = readCLI(bin)
		}
		if err == nil {
			err = narrator.probeStages(dir)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "deploy tests: the narrator binary:", err)
			return 1
		}
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

// checkAll parses the deploy files and runs every check that needs no
// running server. It returns the parsed bundle and the problems found.
func checkAll(files map[string][]byte, c *cli) (*bundle, problems) {
	b, p := loadBundle(files)
	goVersion, err := goModVersion("../go.mod")
	if err != nil {
		p.addf("%v", err)
	}
	checkDockerfile(b, c, goVersion, &p)
	checkNATSConf(b, &p)
	if b.compose != nil {
		b.composeProcs = checkCompose(b, c, &p)
	}
	b.k8sProcs = checkK8s(b, c, &p)
	checkImages(b, &p)
	return b, p
}

// TestDeployFilesMatchTheBinary parses every file in deploy/ and checks it
// against the binary and against the other files.
func TestDeployFilesMatchTheBinary(t *testing.T) {
	files, err := readDeployFiles(".")
	if err != nil {
		t.Fatal(err)
	}
	_, p := checkAll(files, narrator)
	for _, msg := range p {
		t.Error(msg)
	}
	t.Logf("stages the binary runs: %v (one process: %v; switched on by a setting: %v)", narrator.stages, narrator.allStages, narrator.switches)
}

// TestChecksCatchMistakes breaks the deploy files one typo at a time and
// expects the checks to name each mistake: a check that cannot fail
// guards nothing.
func TestChecksCatchMistakes(t *testing.T) {
	files, err := readDeployFiles(".")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file, old, new string
		want                 string // in some problem
	}{
		{"misspelt variable", "k8s/config.yaml", "NARRATOR_REPLICAS:", "NARRATOR_REPLICA:", "NARRATOR_REPLICA is not read"},
		{"variable of another command", "docker-compose.yml", "NARRATOR_OPS_ADDR: 0.0.0.0:9090", "NARRATOR_HTTP_ADDR: 0.0.0.0:9090", "NARRATOR_HTTP_ADDR is not read by narrator worker"},
		{"unknown stage", "k8s/workers.yaml", `args: ["worker", "--stages", "stitch"]`, `args: ["worker", "--stages", "stich"]`, `no stage "stich"`},
		{"unknown flag", "docker-compose.yml", `command: ["worker", "--stages", "chunk"]`, `command: ["worker", "--stage", "chunk"]`, "has no flag -stage"},
		{"unknown command", "k8s/api.yaml", `args: ["serve", "--stages", "none"]`, `args: ["server", "--stages", "none"]`, "no such command"},
		{"stage without a worker", "docker-compose.yml", `command: ["worker", "--stages", "publish"]`, `command: ["worker", "--stages", "stitch"]`, `no worker runs stage "publish"`},
		{"wrong consumer", "k8s/keda.yaml", "consumer: synth-openai\n", "consumer: synth_openai\n", `consumer "synth_openai"`},
		{"consumer of another stage", "k8s/keda.yaml", "consumer: stitch\n", "consumer: clean\n", `consumer "clean" is not the consumer Deployment narrator-stitch`},
		{"wrong stream", "k8s/keda.yaml", "stream: NARRATOR_TASKS\n        consumer: clean\n", "stream: NARRATOR_TASK\n        consumer: clean\n", `stream "NARRATOR_TASK"`},
		{"scaled object without a target", "k8s/keda.yaml", "name: narrator-clean\n  minReplicaCount", "name: narrator-cleaner\n  minReplicaCount", "scaleTargetRef narrator-cleaner"},
		{"image typo", "k8s/workers.yaml", "image: ghcr.io/narrator-project/narrator:latest\n          args: [\"worker\", \"--stages\", \"chunk\"]", "image: ghcr.io/narator-project/narrator:latest\n          args: [\"worker\", \"--stages\", \"chunk\"]", "named differently"},
		{"misspelt probe field", "k8s/api.yaml", "readinessProbe:", "readinesProbe:", "readinesProbe"},
		{"probe on a port not listened on", "k8s/api.yaml", "containerPort: 8080", "containerPort: 8081", "8080"},
		{"no sync_interval", "nats-server.conf", "sync_interval: always", "sync_interval: 2m", "sync_interval is not always"},
		{"misspelt NATS option", "nats-server.conf", "sync_interval: always", "sync_intervall: always", "sync_intervall"},
		{"route to a missing node", "nats-server.conf", "nats://nats-2.nats:6222", "nats://nats-3.nats:6222", "nats-3.nats"},
		{"NATS config copy differs", "k8s/nats.yaml", "max_payload: 8MB", "max_payload: 4MB", "differs from deploy/nats-server.conf"},
		{"NATS_URL misses a node", "k8s/config.yaml", ",nats://nats-2.nats:4222", "", "names 2 of the 3 NATS nodes"},
		{"undefined compose volume", "docker-compose.yml", "- nats-1:/data", "- nats-one:/data", "volume nats-one is not defined"},
		{"undefined compose network", "docker-compose.yml", "networks: [narrator]\n    ports:\n      - 127.0.0.1:7070:7070", "networks: [narator]\n    ports:\n      - 127.0.0.1:7070:7070", "network narator is not defined"},
		{"missing mounted file", "docker-compose.yml", "./s3-public-read.json:", "./s3-public.json:", "s3-public.json, which is not a file"},
		{"bucket mismatch", "s3-public-read.json", "arn:aws:s3:::narrator/*", "arn:aws:s3:::narator/*", "arn:aws:s3:::narator/*"},
		{"root container", "k8s/workers.yaml", "runAsNonRoot: true\n        runAsUser: 10001\n        runAsGroup: 10001\n        fsGroup: 10001\n        seccompProfile:\n          type: RuntimeDefault\n      containers:\n        - name: narrator\n          image: ghcr.io/narrator-project/narrator:latest\n          args: [\"worker\", \"--stages\", \"clean\"]", "runAsNonRoot: false\n        runAsUser: 10001\n        runAsGroup: 10001\n        fsGroup: 10001\n        seccompProfile:\n          type: RuntimeDefault\n      containers:\n        - name: narrator\n          image: ghcr.io/narrator-project/narrator:latest\n          args: [\"worker\", \"--stages\", \"clean\"]", "runAsNonRoot: true"},
		{"no memory limit", "k8s/api.yaml", "memory: 1Gi", "", "memory limit"},
		{"secret key not in the Secret", "k8s/workers.yaml", "key: openai-api-key", "key: openai-key", "openai-key"},
		{"unlisted manifest", "k8s/kustomization.yaml", "  - ingress.yaml\n", "", "ingress.yaml is not listed"},
		{"Dockerfile runs as root", "Dockerfile", "USER 10001:10001", "USER root", "runs as root"},
		{"Dockerfile without lame", "Dockerfile", "espeak-ng lame", "espeak-ng", "install lame"},
		{"misspelt nats-server flag", "k8s/nats.yaml", `args: ["--config", "/etc/nats/nats-server.conf"]`, `args: ["--confg", "/etc/nats/nats-server.conf"]`, "nats-server --confg"},
		{"NATS image of another release", "docker-compose.yml", "image: nats:2.15-alpine", "image: nats:2.9-alpine", "want nats:"},
		{"NATS node without a name", "docker-compose.yml", "SERVER_NAME: nats-1", "SERVER_NAMES: nats-1", "needs $SERVER_NAME"},
		{"two NATS nodes with one name", "docker-compose.yml", "SERVER_NAME: nats-2", "SERVER_NAME: nats-1", "SERVER_NAME=nats-1, the same as"},
		{"server name not from the pod", "k8s/nats.yaml", "fieldPath: metadata.name", "fieldPath: metadata.uid", "from the pod name"},
		{"NATS stopped before lame duck ends", "docker-compose.yml", "stop_grace_period: 50s", "stop_grace_period: 20s", "must exceed lame duck"},
		{"KEDA endpoint typo", "k8s/keda.yaml", "natsServerMonitoringEndpoint: nats.narrator.svc.cluster.local:8222\n        account: \"$G\"\n        stream: NARRATOR_TASKS\n        consumer: stitch\n", "natsServerMonitoringEndpoint: nats.narrator.svc.cluster.local:8223\n        account: \"$G\"\n        stream: NARRATOR_TASKS\n        consumer: stitch\n", "natsServerMonitoringEndpoint"},
		{"KEDA field typo", "k8s/keda.yaml", `lagThreshold: "5"`, `lagTreshold: "5"`, "unknown field lagTreshold"},
		{"secret file not mounted", "k8s/api.yaml", "value: /run/secrets/narrator/api-tokens", "value: /run/secrets/narrator/api-token", "nothing is mounted there"},
		{"publish without a bucket", "k8s/config.yaml", "S3_BUCKET: narrator-audio", "S3_BUCKETS: narrator-audio", "without S3_BUCKET"},
		{"PVC smaller than the store", "k8s/nats.yaml", "storage: 50Gi", "storage: 20Gi", "max_file_store"},
		{"engines disagree", "docker-compose.yml", "OPENAI_API_KEY: ${OPENAI_API_KEY:-}\n", "OPENAI_API_KEY: ${OPENAI_API_KEY:-}\n      NARRATOR_ENGINE: polly\n", "different engines"},
		{"k8s stage without a worker", "k8s/workers.yaml", `args: ["worker", "--stages", "stitch"]`, `args: ["worker", "--stages", "chunk"]`, `no worker runs stage "stitch"`},
		{"API runs the stages too", "k8s/api.yaml", `args: ["serve", "--stages", "none"]`, `args: ["serve"]`, "give it --stages none"},
		{"API with the speech key", "docker-compose.yml", "NARRATOR_HTTP_ADDR: 0.0.0.0:8080\n", "NARRATOR_HTTP_ADDR: 0.0.0.0:8080\n      OPENAI_API_KEY: ${OPENAI_API_KEY:-}\n", "runs no synth stage"},
		{"API without tokens", "k8s/api.yaml", "            - name: NARRATOR_API_TOKENS_FILE\n              value: /run/secrets/narrator/api-tokens\n", "", "without NARRATOR_API_TOKENS"},
		{"webhook worker outside its profile", "docker-compose.yml", "    profiles: [webhooks]\n", "", `runs stage webhook without NARRATOR_WEBHOOK_URLS`},
		{"webhook worker under another profile", "docker-compose.yml", "profiles: [webhooks]", "profiles: [webhook]", `with COMPOSE_PROFILES=webhooks and NARRATOR_WEBHOOK_SECRET, NARRATOR_WEBHOOK_URLS in .env: no worker runs stage "webhook"`},
		{"webhooks undocumented", "docker-compose.yml", "#   COMPOSE_PROFILES=webhooks\n", "", "do not say to put COMPOSE_PROFILES=webhooks in .env"},
		{"webhook endpoints on some services only", "docker-compose.yml", "      NARRATOR_PLAYER_PATH: /player/\n", "      NARRATOR_PLAYER_PATH: /player/\n      NARRATOR_WEBHOOK_URLS: \"\"\n", "every process queues the tasks of webhook"},
		{"component without the webhook worker", "k8s/webhooks/webhook.yaml", `args: ["worker", "--stages", "webhook"]`, `args: ["worker", "--stages", "feed"]`, `k8s with component webhooks: no worker runs stage "webhook"`},
		{"component leaves the endpoints empty", "k8s/webhooks/config.yaml", "NARRATOR_WEBHOOK_URLS: https://hooks.example.com/narrator", `NARRATOR_WEBHOOK_URLS: ""`, "runs stage webhook without NARRATOR_WEBHOOK_URLS"},
		{"component patches a missing ConfigMap", "k8s/webhooks/config.yaml", "name: narrator-config", "name: narrator-conf", "which the kustomization does not define"},
		{"component file unlisted", "k8s/webhooks/kustomization.yaml", "patches:\n  - path: config.yaml\n", "", "config.yaml is not listed under resources or patches"},
		{"webhook secret not given", "k8s/workers.yaml", "            - name: NARRATOR_WEBHOOK_SECRET_FILE\n              value: /run/secrets/narrator/webhook-secret\n            - name: GOMEMLIMIT\n              value: 200MiB\n            - name: OTEL_SERVICE_NAME\n              value: narrator-stitch\n", "            - name: GOMEMLIMIT\n              value: 200MiB\n            - name: OTEL_SERVICE_NAME\n              value: narrator-stitch\n", "k8s with component webhooks: k8s/workers.yaml: Deployment narrator-stitch container narrator: NARRATOR_WEBHOOK_URLS is set but neither NARRATOR_WEBHOOK_SECRET"},
		{"fetch allow-lists differ", "k8s/workers.yaml", "value: narrator-clean\n", "value: narrator-clean\n            - name: NARRATOR_FETCH_ALLOW\n              value: cms.internal\n", "check article URLs against one allow-list"},
		{"API on another bucket", "docker-compose.yml", "NARRATOR_HTTP_ADDR: 0.0.0.0:8080\n", "NARRATOR_HTTP_ADDR: 0.0.0.0:8080\n      S3_BUCKET: other\n", "unpublishes from the bucket"},
		{"stages none for a worker", "k8s/workers.yaml", `args: ["worker", "--stages", "chunk"]`, `args: ["worker", "--stages", "none"]`, `no stage "none"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			orig, ok := files[tc.file]
			if !ok {
				t.Fatalf("no file %s", tc.file)
			}
			if strings.Count(string(orig), tc.old) != 1 {
				t.Fatalf("%s contains %q %d times; the case needs it once", tc.file, tc.old, strings.Count(string(orig), tc.old))
			}
			broken := make(map[string][]byte, len(files))
			for k, v := range files {
				broken[k] = v
			}
			broken[tc.file] = []byte(strings.Replace(string(orig), tc.old, tc.new, 1))
			_, p := checkAll(broken, narrator)
			for _, msg := range p {
				if strings.Contains(msg, tc.want) {
					t.Logf("caught: %s", msg)
					return
				}
			}
			t.Errorf("no problem mentions %q; got:\n%s", tc.want, strings.Join(p, "\n"))
		})
	}
}
