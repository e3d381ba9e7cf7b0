package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// problems collects what is wrong with the deploy files, so that one run
// reports every mistake rather than the first.
type problems []string

func (p *problems) addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// addVariant adds the problems found in a variant of a deployment (one
// with an optional part switched on) that are not problems already,
// saying which variant they are of; the system ("compose: ") that starts
// some messages is dropped, since the variant names it.
func (p *problems) addVariant(variant, system string, found problems) {
	for _, msg := range found {
		if !slices.Contains(*p, msg) {
			p.addf("%s: %s", variant, strings.TrimPrefix(msg, system+": "))
		}
	}
}

// bundle is every deploy file, parsed.
type bundle struct {
	files map[string][]byte // path relative to deploy/, slash-separated

	compose     *composeFile
	composePath string

	objects       []k8sObject // every Kubernetes object, in file order
	kustomization *kustomizationObj
	kustomizePath string
	// components are the kustomize components under k8s/, by the path of
	// their kustomization.yaml.
	components map[string]*componentObj

	json       map[string]any // parsed JSON files by path
	dockerfile *dockerfile
	natsConf   *natsConf

	// Found while checking, for the checks that span files and for the
	// tests that run what the files describe.
	images        []imageUse  // every place that names the narrator image
	imageUID      int64       // the image's USER
	natsProbes    []httpProbe // health requests to NATS nodes
	natsMonitor   string      // host:port KEDA reads consumer lag from
	kedaConsumers []string    // consumers ScaledObjects scale on
	composeProcs  []*process  // narrator processes docker-compose.yml runs
	k8sProcs      []*process  // and those the Kubernetes manifests run
}

// k8sObject is one Kubernetes object and where it was found.
type k8sObject struct {
	file string
	kind string
	name string
	obj  any // *deploymentObj, *serviceObj, ...
}

func (o k8sObject) String() string { return fmt.Sprintf("%s: %s %s", o.file, o.kind, o.name) }

// readDeployFiles reads every file under dir except Go sources.
func readDeployFiles(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	return files, err
}

// sortedPaths returns the bundle's file names in order, for stable reports.
func (b *bundle) sortedPaths() []string {
	paths := make([]string, 0, len(b.files))
	for p := range b.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// loadBundle parses the files; what does not parse is a problem.
func loadBundle(files map[string][]byte) (*bundle, problems) {
	var p problems
	b := &bundle{files: files, json: map[string]any{}, components: map[string]*componentObj{}}
	for _, path := range b.sortedPaths() {
		data := files[path]
		switch {
		case strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml"):
			b.loadYAML(path, data, &p)
		case strings.HasSuffix(path, ".json"):
			var v any
			dec := json.NewDecoder(bytes.NewReader(data))
			if err := dec.Decode(&v); err != nil {
				p.addf("%s: not valid JSON: %v", path, err)
				continue
			}
			if _, err := dec.Token(); err != io.EOF {
				p.addf("%s: text after the JSON value", path)
				continue
			}
			b.json[path] = v
		case path == "Dockerfile":
			df, err := parseDockerfile(data)
			if err != nil {
				p.addf("%s: %v", path, err)
				continue
			}
			b.dockerfile = df
		case path == "nats-server.conf":
			nc, err := parseNATSConf(data)
			if err != nil {
				p.addf("%s: %v", path, err)
				continue
			}
			b.natsConf = nc
		}
	}
	if b.dockerfile == nil {
		p.addf("Dockerfile: missing")
	}
	if b.natsConf == nil {
		p.addf("nats-server.conf: missing")
	}
	if b.compose == nil {
		p.addf("docker-compose.yml: missing")
	}
	return b, p
}

// loadYAML decodes every document of a YAML file.
func (b *bundle) loadYAML(path string, data []byte, p *problems) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			p.addf("%s: document %d: not valid YAML: %v", path, i+1, err)
			return
		}
		if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
			continue // an empty document
		}
		var head struct {
			APIVersion string         `yaml:"apiVersion"`
			Kind       string         `yaml:"kind"`
			Services   map[string]any `yaml:"services"`
			Metadata   objectMeta     `yaml:"metadata"`
		}
		if err := doc.Decode(&head); err != nil {
			p.addf("%s: document %d: %v", path, i+1, err)
			continue
		}
		where := fmt.Sprintf("%s: document %d", path, i+1)
		switch {
		case head.Services != nil && head.Kind == "":
			var c composeFile
			if err := strictDecode(&doc, &c); err != nil {
				p.addf("%s: %v", where, err)
				continue
			}
			if b.compose != nil {
				p.addf("%s: a second compose file (first: %s)", path, b.composePath)
				continue
			}
			b.compose, b.composePath = &c, path
		case head.Kind == "Kustomization":
			var k kustomizationObj
			if err := strictDecode(&doc, &k); err != nil {
				p.addf("%s: %v", where, err)
				continue
			}
			b.kustomization, b.kustomizePath = &k, path
		case head.Kind == "Component":
			var k componentObj
			if err := strictDecode(&doc, &k); err != nil {
				p.addf("%s: %v", where, err)
				continue
			}
			if k.APIVersion != "kustomize.config.k8s.io/v1alpha1" {
				p.addf("%s: a Component's apiVersion is kustomize.config.k8s.io/v1alpha1, not %q", where, k.APIVersion)
			}
			b.components[path] = &k
		case head.APIVersion != "" && head.Kind != "":
			obj, ok := newObject(head.Kind)
			if !ok {
				p.addf("%s: kind %s: no check knows this kind; add it to newObject", where, head.Kind)
				continue
			}
			if err := strictDecode(&doc, obj); err != nil {
				p.addf("%s (%s %s): %v", where, head.Kind, head.Metadata.Name, err)
				continue
			}
			if want := wantAPIVersion[head.Kind]; head.APIVersion != want {
				p.addf("%s: %s %s: apiVersion %q, want %q", where, head.Kind, head.Metadata.Name, head.APIVersion, want)
			}
			b.objects = append(b.objects, k8sObject{file: path, kind: head.Kind, name: head.Metadata.Name, obj: obj})
		default:
			p.addf("%s: neither a compose file nor a Kubernetes object (no apiVersion and kind)", where)
		}
	}
}

// wantAPIVersion is the API version each kind is served at.
var wantAPIVersion = map[string]string{
	"Namespace":           "v1",
	"ServiceAccount":      "v1",
	"ConfigMap":           "v1",
	"Secret":              "v1",
	"Service":             "v1",
	"Deployment":          "apps/v1",
	"StatefulSet":         "apps/v1",
	"PodDisruptionBudget": "policy/v1",
	"Ingress":             "networking.k8s.io/v1",
	"ScaledObject":        "keda.sh/v1alpha1",
}

func newObject(kind string) (any, bool) {
	switch kind {
	case "Namespace":
		return &namespaceObj{}, true
	case "ServiceAccount":
		return &serviceAccountObj{}, true
	case "ConfigMap":
		return &configMapObj{}, true
	case "Secret":
		return &secretObj{}, true
	case "Service":
		return &serviceObj{}, true
	case "Deployment":
		return &deploymentObj{}, true
	case "StatefulSet":
		return &statefulSetObj{}, true
	case "PodDisruptionBudget":
		return &pdbObj{}, true
	case "Ingress":
		return &ingressObj{}, true
	case "ScaledObject":
		return &scaledObjectObj{}, true
	}
	return nil, false
}

// strictDecode decodes a document refusing fields the type does not have.
func strictDecode(doc *yaml.Node, v any) error {
	data, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// objectsOf returns the objects of one kind, typed.
func objectsOf[T any](b *bundle, kind string) []T {
	var out []T
	for _, o := range b.objects {
		if o.kind == kind {
			out = append(out, o.obj.(T))
		}
	}
	return out
}

// object finds a named object of a kind.
func object[T any](b *bundle, kind, name string) (T, bool) {
	for _, o := range b.objects {
		if o.kind == kind && o.name == name {
			return o.obj.(T), true
		}
	}
	var zero T
	return zero, false
}

// fileOf names the file an object came from.
func (b *bundle) fileOf(kind, name string) string {
	for _, o := range b.objects {
		if o.kind == kind && o.name == name {
			return o.file
		}
	}
	return "?"
}

// k8sFiles lists the YAML files under k8s/.
func (b *bundle) k8sFiles() []string {
	var out []string
	for _, p := range b.sortedPaths() {
		if strings.HasPrefix(p, "k8s/") && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			out = append(out, p)
		}
	}
	return out
}

// hasFile reports whether a path relative to deploy/ is one of the files.
func (b *bundle) hasFile(path string) bool {
	_, ok := b.files[path]
	return ok
}

// containsAll reports whether every want is in have.
func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
