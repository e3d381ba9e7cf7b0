# narrator: two commands do all the set-up on a fresh Debian or Ubuntu machine.
#   make demo   narrate the bundled sample article to sample-article.mp3 (no API keys, no servers)
#   make test   install what the tests need and run them all

GO        ?= go
VERSITYGW := github.com/versity/versitygw/cmd/versitygw@v1.8.0
GOBIN     := $(shell $(GO) env GOPATH)/bin
RUN_PKGS  := espeak-ng lame
TEST_PKGS := $(RUN_PKGS) ffmpeg mpg123 mp3val mediainfo chromium ca-certificates openssl
# Node.js is often installed from elsewhere (nodesource) with its own npm, which
# Debian's npm package conflicts with: it is installed only where missing.
NODE_PKGS := nodejs npm
# Independent checkers the tests run, pinned by their lockfile: the Content
# Authenticity Initiative's C2PA reader, the Podcast Index's feed parser
# (podcast-partytime) and axe-core.
NPM_TOOLS := testdata/npm

.PHONY: demo test deps-run deps-test build vet fuzz bench

demo: deps-run
	$(GO) run ./cmd/narrator narrate -o sample-article.mp3 testdata/sample-article.html

# The binary is built first: the multi-process and deploy tests build it
# again, which then only links. The last step runs the tests that score a
# whole corpus or narrate a whole article without -race, under which they
# skip themselves (services/race).
test: deps-test
	$(GO) build -o /dev/null ./cmd/narrator
	PATH="$(GOBIN):$$PATH" $(GO) test -race -timeout 25m ./...
	$(GO) test -run 'TestExtractionBenchmark|TestNarrateSample|TestEvalScores|TestBenchReportIsConsistent' ./services/clean ./services/pipeline ./cmd/narrator

build:
	$(GO) build -o narrator ./cmd/narrator

vet:
	gofmt -l . | (! grep .) && $(GO) vet ./...

# Debian packages: installed when running as root or with sudo, else the
# command to run is printed and make stops.
deps-run:
	@$(call apt,$(RUN_PKGS),espeak-ng lame)

deps-test:
	@$(call apt,$(TEST_PKGS),espeak-ng lame ffmpeg ffprobe mpg123 mp3val mediainfo chromium openssl)
	@$(call apt,$(NODE_PKGS),node npm)
	@test -x "$(GOBIN)/versitygw" || $(GO) install $(VERSITYGW)
	@for p in @contentauth/c2pa-wasm podcast-partytime axe-core; do test -d $(NPM_TOOLS)/node_modules/$$p || exit 1; done || npm ci --prefix $(NPM_TOOLS) --no-audit --no-fund

define apt
missing=""; for c in $(2); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
if [ -n "$$missing" ]; then \
  echo "narrator needs:$$missing (Debian packages: $(1))"; \
  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1); \
  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(1); \
  else echo "install them with: apt-get install $(1)"; exit 1; fi; \
fi
endef
