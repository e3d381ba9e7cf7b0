package deploy

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/narrator-project/narrator/queue"
)

// workload is a Deployment or StatefulSet: a pod template and its name.
type workload struct {
	kind, name, file string
	selector         map[string]string
	pod              *podTemplate
}

func (b *bundle) workloads() []workload {
	var out []workload
	for _, o := range b.objects {
		switch v := o.obj.(type) {
		case *deploymentObj:
			out = append(out, workload{o.kind, o.name, o.file, v.Spec.Selector.MatchLabels, &v.Spec.Template})
		case *statefulSetObj:
			out = append(out, workload{o.kind, o.name, o.file, v.Spec.Selector.MatchLabels, &v.Spec.Template})
		}
	}
	return out
}

// selects reports whether a selector matches a set of labels.
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkK8s checks the Kubernetes manifests and returns the narrator
// processes they run: those of the kustomization as it is, then those each
// component it does not name adds when switched on.
func checkK8s(b *bundle, c *cli, p *problems) []*process {
	if len(b.k8sFiles()) == 0 {
		p.addf("k8s/: no manifests")
		return nil
	}
	namespaces := objectsOf[*namespaceObj](b, "Namespace")
	if len(namespaces) != 1 {
		p.addf("k8s/: %d Namespace objects, want one", len(namespaces))
		return nil
	}
	ns := namespaces[0].Metadata.Name
	for _, o := range b.objects {
		if o.kind == "Namespace" {
			continue
		}
		meta := metaOf(o.obj)
		if meta.Namespace != ns {
			p.addf("%s: namespace %q, want %q", o, meta.Namespace, ns)
		}
		if meta.Name == "" {
			p.addf("%s: no name", o)
		}
	}
	checkKustomization(b, ns, p)

	var procs []*process
	seen := map[string]bool{}
	for _, v := range k8sVariants(b, p) {
		vb := *b
		vb.objects, vb.images, vb.natsProbes, vb.kedaConsumers = v.objects, nil, nil, nil
		var found problems
		for _, pr := range checkK8sObjects(&vb, c, ns, &found) {
			if !seen[pr.where] {
				seen[pr.where] = true
				procs = append(procs, pr)
			}
		}
		if v.name == "" {
			*p = append(*p, found...)
		} else {
			p.addVariant("k8s "+v.name, "k8s", found)
		}
		b.images = append(b.images, vb.images...)
		b.natsMonitor = vb.natsMonitor
		for _, pb := range vb.natsProbes {
			if !slices.Contains(b.natsProbes, pb) {
				b.natsProbes = append(b.natsProbes, pb)
			}
		}
		for _, kc := range vb.kedaConsumers {
			if !slices.Contains(b.kedaConsumers, kc) {
				b.kedaConsumers = append(b.kedaConsumers, kc)
			}
		}
	}
	return procs
}

// checkK8sObjects checks the objects one kustomize build applies and
// returns the narrator processes they run.
func checkK8sObjects(b *bundle, c *cli, ns string, p *problems) []*process {
	for i, o := range b.objects {
		for _, o2 := range b.objects[:i] {
			if o.kind == o2.kind && o.name == o2.name {
				p.addf("%s: defined twice (also in %s)", o, o2.file)
			}
		}
	}
	var procs []*process
	for _, w := range b.workloads() {
		procs = append(procs, checkWorkload(b, c, w, p)...)
	}
	checkServices(b, p)
	checkProcesses(b, c, "k8s", procs, p)
	checkK8sNATS(b, ns, procs, p)
	checkScaledObjects(b, c, ns, procs, p)
	return procs
}

// k8sVariant is what one kustomize build applies.
type k8sVariant struct {
	name    string // "" for the kustomization as it is
	objects []k8sObject
}

// k8sVariants returns the objects kustomization.yaml applies (its
// resources and the components it names), then, for each component it
// does not name, those objects with that component switched on.
func k8sVariants(b *bundle, p *problems) []k8sVariant {
	if b.kustomization == nil {
		return []k8sVariant{{objects: b.objects}}
	}
	dir := path.Dir(b.kustomizePath)
	inFile := func(f string) []k8sObject {
		var out []k8sObject
		for _, o := range b.objects {
			if o.file == f {
				out = append(out, o)
			}
		}
		return out
	}
	var base []k8sObject
	for _, r := range b.kustomization.Resources {
		base = append(base, inFile(path.Join(dir, r))...)
	}
	withComponent := func(objs []k8sObject, kpath string) []k8sObject {
		comp, cdir := b.components[kpath], path.Dir(kpath)
		objs = slices.Clone(objs)
		for _, r := range comp.Resources {
			objs = append(objs, inFile(path.Join(cdir, r))...)
		}
		for _, pt := range comp.Patches {
			for _, patch := range inFile(path.Join(cdir, pt.Path)) {
				objs = applyPatch(objs, patch, p)
			}
		}
		return objs
	}
	var named []string
	for _, name := range b.kustomization.Components {
		kpath := path.Join(dir, name, "kustomization.yaml")
		if b.components[kpath] == nil {
			p.addf("%s: component %s: no %s", b.kustomizePath, name, kpath)
			continue
		}
		base = withComponent(base, kpath)
		named = append(named, kpath)
	}
	out := []k8sVariant{{objects: base}}
	for _, kpath := range keys(b.components) {
		if !slices.Contains(named, kpath) {
			out = append(out, k8sVariant{name: "with component " + path.Base(path.Dir(kpath)), objects: withComponent(base, kpath)})
		}
	}
	return out
}

// applyPatch merges a patch into the object it names, as kustomize's
// strategic merge does; only ConfigMap data is patched here.
func applyPatch(objs []k8sObject, patch k8sObject, p *problems) []k8sObject {
	pc, ok := patch.obj.(*configMapObj)
	if !ok {
		p.addf("%s: a patch of a %s; these checks apply ConfigMap patches only", patch, patch.kind)
		return objs
	}
	for i, o := range objs {
		target, ok := o.obj.(*configMapObj)
		if !ok || o.name != patch.name || target.Metadata.Namespace != pc.Metadata.Namespace {
			continue
		}
		merged := *target
		merged.Data = maps.Clone(target.Data)
		maps.Copy(merged.Data, pc.Data)
		objs[i].obj = &merged
		return objs
	}
	p.addf("%s: patches ConfigMap %s in namespace %q, which the kustomization does not define", patch, patch.name, pc.Metadata.Namespace)
	return objs
}

func metaOf(obj any) objectMeta {
	switch v := obj.(type) {
	case *namespaceObj:
		return v.Metadata
	case *serviceAccountObj:
		return v.Metadata
	case *configMapObj:
		return v.Metadata
	case *secretObj:
		return v.Metadata
	case *serviceObj:
		return v.Metadata
	case *deploymentObj:
		return v.Metadata
	case *statefulSetObj:
		return v.Metadata
	case *pdbObj:
		return v.Metadata
	case *ingressObj:
		return v.Metadata
	case *scaledObjectObj:
		return v.Metadata
	}
	return objectMeta{}
}

// checkKustomization checks kustomization.yaml applies every manifest in
// its folder, and each component every manifest in its own.
func checkKustomization(b *bundle, ns string, p *problems) {
	k := b.kustomization
	if k == nil {
		p.addf("k8s/kustomization.yaml: missing")
		return
	}
	dir := path.Dir(b.kustomizePath)
	want := map[string][]string{} // kustomization → files it must apply
	for _, f := range b.k8sFiles() {
		if f == b.kustomizePath || b.components[f] != nil {
			continue
		}
		kpath := path.Join(path.Dir(f), "kustomization.yaml")
		if b.components[kpath] == nil {
			kpath = b.kustomizePath
		}
		want[kpath] = append(want[kpath], strings.TrimPrefix(f, path.Dir(kpath)+"/"))
	}
	listed := map[string][]string{b.kustomizePath: k.Resources}
	for kpath, comp := range b.components {
		if path.Dir(path.Dir(kpath)) != dir {
			p.addf("%s: a component must be a folder in %s/, beside kustomization.yaml", kpath, dir)
		}
		listed[kpath] = slices.Clone(comp.Resources)
		for _, pt := range comp.Patches {
			if pt.Target != nil {
				p.addf("%s: patch %s has a target; these checks know patches that name their object", kpath, pt.Path)
			}
			listed[kpath] = append(listed[kpath], pt.Path)
		}
	}
	for _, kpath := range keys(listed) {
		kdir := path.Dir(kpath)
		for _, r := range listed[kpath] {
			if !slices.Contains(want[kpath], r) {
				p.addf("%s: %s is not a manifest in %s/", kpath, r, kdir)
			}
		}
		for _, f := range want[kpath] {
			if slices.Contains(listed[kpath], f) {
				continue
			}
			if kpath == b.kustomizePath {
				p.addf("%s: %s is not listed under resources", kpath, f)
			} else {
				p.addf("%s: %s is not listed under resources or patches", kpath, f)
			}
		}
	}
	if k.Namespace != ns {
		p.addf("%s: namespace %q, want %q", b.kustomizePath, k.Namespace, ns)
	}
	for _, img := range k.Images {
		b.images = append(b.images, imageUse{where: b.kustomizePath + " images", image: img.Name})
	}
}

// checkWorkload checks a Deployment or StatefulSet: references, resources,
// security, probes. It returns the narrator processes it runs.
func checkWorkload(b *bundle, c *cli, w workload, p *problems) []*process {
	where := fmt.Sprintf("%s: %s %s", w.file, w.kind, w.name)
	spec := &w.pod.Spec
	if !selects(w.selector, w.pod.Metadata.Labels) {
		p.addf("%s: the selector %v does not match the pod labels %v", where, w.selector, w.pod.Metadata.Labels)
	}
	if d, ok := object[*deploymentObj](b, "Deployment", w.name); ok && w.kind == "Deployment" && d.Spec.Replicas != nil && *d.Spec.Replicas < 1 {
		p.addf("%s: replicas %d", where, *d.Spec.Replicas)
	}

	// The pod: its service account and who it runs as. The namespace
	// enforces the restricted Pod Security Standard.
	if sa := spec.ServiceAccountName; sa != "" {
		if _, ok := object[*serviceAccountObj](b, "ServiceAccount", sa); !ok {
			p.addf("%s: service account %s is not defined", where, sa)
		}
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		p.addf("%s: set automountServiceAccountToken: false; nothing here talks to the Kubernetes API", where)
	}
	sc := spec.SecurityContext
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		p.addf("%s: the pod securityContext needs runAsNonRoot: true", where)
	}
	if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		p.addf("%s: the pod securityContext needs a non-zero runAsUser", where)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != "RuntimeDefault" {
		p.addf("%s: the pod securityContext needs seccompProfile RuntimeDefault", where)
	}
	if len(spec.Containers) == 0 {
		p.addf("%s: no containers", where)
	}
	volumes := map[string]*volume{}
	for i := range spec.Volumes {
		v := &spec.Volumes[i]
		volumes[v.Name] = v
		switch {
		case v.ConfigMap != nil:
			cm, ok := object[*configMapObj](b, "ConfigMap", v.ConfigMap.Name)
			if !ok {
				p.addf("%s: volume %s: ConfigMap %s is not defined", where, v.Name, v.ConfigMap.Name)
				continue
			}
			for _, it := range v.ConfigMap.Items {
				if _, ok := cm.Data[it.Key]; !ok {
					p.addf("%s: volume %s: ConfigMap %s has no key %s", where, v.Name, v.ConfigMap.Name, it.Key)
				}
			}
		case v.Secret != nil:
			s, ok := object[*secretObj](b, "Secret", v.Secret.SecretName)
			if !ok {
				p.addf("%s: volume %s: Secret %s is not defined", where, v.Name, v.Secret.SecretName)
				continue
			}
			for _, it := range v.Secret.Items {
				if !s.hasKey(it.Key) {
					p.addf("%s: volume %s: Secret %s has no key %s", where, v.Name, v.Secret.SecretName, it.Key)
				}
			}
		}
	}
	var claims []string
	if ss, ok := object[*statefulSetObj](b, "StatefulSet", w.name); ok && w.kind == "StatefulSet" {
		for _, t := range ss.Spec.VolumeClaimTemplates {
			claims = append(claims, t.Metadata.Name)
		}
	}

	var procs []*process
	for i := range spec.Containers {
		ct := &spec.Containers[i]
		cw := fmt.Sprintf("%s container %s", where, ct.Name)
		checkContainer(b, cw, ct, volumes, claims, p)
		if !isNarratorImage(ct.Image) {
			continue
		}
		b.images = append(b.images, imageUse{where: cw, image: ct.Image})
		if sc.RunAsUser != nil && b.imageUID != 0 && *sc.RunAsUser != b.imageUID {
			p.addf("%s: runs as uid %d; the image's narrator user is %d", where, *sc.RunAsUser, b.imageUID)
		}
		procs = append(procs, narratorProcess(b, c, w, cw, ct, volumes, p))
	}
	return procs
}

// checkContainer checks one container's resources, security, mounts and
// probes.
func checkContainer(b *bundle, where string, ct *container, volumes map[string]*volume, claims []string, p *problems) {
	for _, kind := range []string{"cpu", "memory"} {
		req, okR := ct.Resources.Requests[kind]
		lim, okL := ct.Resources.Limits[kind]
		if !okR || !okL {
			p.addf("%s: set both a %s request and a %s limit", where, kind, kind)
			continue
		}
		r, err1 := quantity(req)
		l, err2 := quantity(lim)
		if err1 != nil || err2 != nil {
			p.addf("%s: %s request %q / limit %q: %v", where, kind, req, lim, firstErr(err1, err2))
			continue
		}
		if r > l {
			p.addf("%s: %s request %s is above its limit %s", where, kind, req, lim)
		}
	}
	s := ct.SecurityContext
	if s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation {
		p.addf("%s: set allowPrivilegeEscalation: false", where)
	}
	if s.ReadOnlyRootFilesystem == nil || !*s.ReadOnlyRootFilesystem {
		p.addf("%s: set readOnlyRootFilesystem: true (mount what the process writes)", where)
	}
	if s.Capabilities == nil || !slices.Contains(s.Capabilities.Drop, "ALL") || len(s.Capabilities.Add) > 0 {
		p.addf("%s: drop ALL capabilities and add none", where)
	}
	if s.RunAsUser != nil && *s.RunAsUser == 0 {
		p.addf("%s: runs as root", where)
	}
	for _, m := range ct.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok && !slices.Contains(claims, m.Name) {
			p.addf("%s: mounts volume %s, which the pod does not define", where, m.Name)
		}
	}
	for _, e := range ct.Env {
		if e.ValueFrom == nil {
			continue
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil {
			if s, ok := object[*secretObj](b, "Secret", r.Name); !ok || !s.hasKey(r.Key) {
				p.addf("%s: %s refers to Secret %s key %s, which is not defined", where, e.Name, r.Name, r.Key)
			}
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
			if cm, ok := object[*configMapObj](b, "ConfigMap", r.Name); !ok || cm.Data[r.Key] == "" {
				p.addf("%s: %s refers to ConfigMap %s key %s, which is not defined", where, e.Name, r.Name, r.Key)
			}
		}
	}
	for _, ef := range ct.EnvFrom {
		if ef.ConfigMapRef != nil {
			if _, ok := object[*configMapObj](b, "ConfigMap", ef.ConfigMapRef.Name); !ok {
				p.addf("%s: envFrom ConfigMap %s is not defined", where, ef.ConfigMapRef.Name)
			}
		}
		if ef.SecretRef != nil {
			p.addf("%s: envFrom a whole Secret gives every stage every secret; mount the keys it needs", where)
		}
	}
	if gm := envValue(ct, "GOMEMLIMIT"); gm != "" {
		lim, err := quantity(ct.Resources.Limits["memory"])
		g, gerr := goMemLimit(gm)
		if gerr != nil {
			p.addf("%s: GOMEMLIMIT %q: %v", where, gm, gerr)
		} else if err == nil && g >= lim {
			p.addf("%s: GOMEMLIMIT %s is not below the memory limit %s", where, gm, ct.Resources.Limits["memory"])
		}
	}
	portNames := map[string]int{}
	for _, pt := range ct.Ports {
		if pt.Name != "" {
			portNames[pt.Name] = pt.ContainerPort
		}
	}
	for kind, pb := range map[string]*probe{"liveness": ct.LivenessProbe, "readiness": ct.ReadinessProbe, "startup": ct.StartupProbe} {
		if pb == nil {
			if kind != "startup" {
				p.addf("%s: no %s probe", where, kind)
			}
			continue
		}
		if pb.HTTPGet == nil {
			p.addf("%s: the %s probe is not an HTTP request", where, kind)
			continue
		}
		if _, ok := resolvePort(pb.HTTPGet.Port, portNames); !ok {
			p.addf("%s: the %s probe's port %s is not a port of the container", where, kind, pb.HTTPGet.Port)
		}
	}
}

// envValue returns a container's literal environment value.
func envValue(ct *container, name string) string {
	for _, e := range ct.Env {
		if e.Name == name && e.Value != nil {
			return *e.Value
		}
	}
	return ""
}

// resolvePort turns a port name or number into a number.
func resolvePort(v intOrString, names map[string]int) (int, bool) {
	if n, err := strconv.Atoi(string(v)); err == nil {
		for _, p := range names {
			if p == n {
				return n, true
			}
		}
		return n, len(names) == 0
	}
	n, ok := names[string(v)]
	return n, ok
}

// narratorProcess describes a narrator container as a process.
func narratorProcess(b *bundle, c *cli, w workload, where string, ct *container, volumes map[string]*volume, p *problems) *process {
	var entry, cmd []string
	if b.dockerfile != nil {
		entry, cmd, _ = b.dockerfile.entrypoint()
	}
	argv := append(slices.Clone(entry), cmd...)
	switch {
	case ct.Command != nil:
		argv = append(slices.Clone(ct.Command), ct.Args...)
	case ct.Args != nil:
		argv = append(slices.Clone(entry), ct.Args...)
	}
	pr := &process{system: "k8s", unit: w.name, where: where, env: map[string]string{}, files: map[string]string{}}
	if len(argv) == 0 || path.Base(argv[0]) != "narrator" {
		p.addf("%s: runs %q, not narrator", where, argv)
		return pr
	}
	pr.argv = argv[1:]
	pr.args = checkArgv(c, where, pr.argv, p)
	for _, ef := range ct.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if cm, ok := object[*configMapObj](b, "ConfigMap", ef.ConfigMapRef.Name); ok {
			for k, v := range cm.Data {
				pr.env[ef.Prefix+k] = v
			}
		}
	}
	for _, e := range ct.Env {
		switch {
		case e.Value != nil:
			pr.env[e.Name] = *e.Value
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			pr.env[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			if cm, ok := object[*configMapObj](b, "ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name); ok {
				pr.env[e.Name] = cm.Data[e.ValueFrom.ConfigMapKeyRef.Key]
			}
		default:
			pr.env[e.Name] = "(from the pod)"
		}
	}
	for _, m := range ct.VolumeMounts {
		v := volumes[m.Name]
		if v == nil || v.Secret == nil {
			continue
		}
		for _, it := range v.Secret.Items {
			pr.files[path.Join(m.MountPath, it.Path)] = "secret:" + v.Secret.SecretName + "/" + it.Key
		}
	}
	portNames := map[string]int{}
	for _, pt := range ct.Ports {
		portNames[pt.Name] = pt.ContainerPort
	}
	for kind, pb := range map[string]*probe{"liveness": ct.LivenessProbe, "readiness": ct.ReadinessProbe, "startup": ct.StartupProbe} {
		if pb == nil || pb.HTTPGet == nil {
			continue
		}
		port, _ := resolvePort(pb.HTTPGet.Port, portNames)
		pr.probes = append(pr.probes, httpProbe{kind: kind, path: pb.HTTPGet.Path, port: port})
	}
	slices.SortFunc(pr.probes, func(a, b httpProbe) int { return strings.Compare(a.kind, b.kind) })
	pr.grace = 30
	if g := w.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		pr.grace = *g
	}
	// Scraped metrics come from a port the process listens on.
	if ap := w.pod.Metadata.Annotations["prometheus.io/port"]; ap != "" {
		n, _ := strconv.Atoi(ap)
		if _, ok := pr.listenPorts()[n]; !ok {
			p.addf("%s: prometheus.io/port %s is not a port the process listens on", where, ap)
		}
	}
	// Every port the process listens on is declared.
	for port, env := range pr.listenPorts() {
		declared := false
		for _, pt := range ct.Ports {
			declared = declared || pt.ContainerPort == port
		}
		if !declared {
			p.addf("%s: listens on %d (%s) but declares no such container port", where, port, env)
		}
	}
	return pr
}

// checkServices checks Services, PodDisruptionBudgets and Ingresses reach
// pods and ports that exist.
func checkServices(b *bundle, p *problems) {
	wls := b.workloads()
	matching := func(sel map[string]string) []workload {
		var out []workload
		for _, w := range wls {
			if selects(sel, w.pod.Metadata.Labels) {
				out = append(out, w)
			}
		}
		return out
	}
	for _, o := range b.objects {
		switch v := o.obj.(type) {
		case *serviceObj:
			ws := matching(v.Spec.Selector)
			if len(ws) == 0 {
				p.addf("%s: the selector %v matches no pods", o, v.Spec.Selector)
				continue
			}
			for _, sp := range v.Spec.Ports {
				for _, w := range ws {
					names := map[string]int{}
					for _, ct := range w.pod.Spec.Containers {
						for _, pt := range ct.Ports {
							names[pt.Name] = pt.ContainerPort
						}
					}
					target := sp.TargetPort
					if target == "" {
						target = intOrString(strconv.Itoa(sp.Port))
					}
					if _, ok := resolvePort(target, names); !ok {
						p.addf("%s: port %s targets %s, which %s %s does not declare", o, sp.Name, target, w.kind, w.name)
					}
				}
			}
		case *pdbObj:
			if len(matching(v.Spec.Selector.MatchLabels)) == 0 {
				p.addf("%s: the selector matches no pods", o)
			}
		case *ingressObj:
			for _, r := range v.Spec.Rules {
				for _, hp := range r.HTTP.Paths {
					svc, ok := object[*serviceObj](b, "Service", hp.Backend.Service.Name)
					if !ok {
						p.addf("%s: backend Service %s is not defined", o, hp.Backend.Service.Name)
						continue
					}
					found := false
					for _, sp := range svc.Spec.Ports {
						found = found || (sp.Name != "" && sp.Name == hp.Backend.Service.Port.Name) || sp.Port == hp.Backend.Service.Port.Number
					}
					if !found {
						p.addf("%s: backend port %v is not a port of Service %s", o, hp.Backend.Service.Port, svc.Metadata.Name)
					}
				}
			}
		}
	}
}

// checkK8sNATS checks the NATS StatefulSet against nats-server.conf.
func checkK8sNATS(b *bundle, ns string, procs []*process, p *problems) {
	nc := b.natsConf
	var sets []*statefulSetObj
	for _, ss := range objectsOf[*statefulSetObj](b, "StatefulSet") {
		for _, ct := range ss.Spec.Template.Spec.Containers {
			if repo, _ := splitImage(ct.Image); repo == "nats" {
				sets = append(sets, ss)
			}
		}
	}
	if len(sets) != 1 {
		p.addf("k8s/: %d NATS StatefulSets, want one", len(sets))
		return
	}
	ss := sets[0]
	where := fmt.Sprintf("%s: StatefulSet %s", b.fileOf("StatefulSet", ss.Metadata.Name), ss.Metadata.Name)
	if nc == nil {
		return
	}
	o := nc.opts
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != len(o.Routes) {
		p.addf("%s: replicas %v, want %d, one per route in nats-server.conf", where, ss.Spec.Replicas, len(o.Routes))
	}
	svc, ok := object[*serviceObj](b, "Service", ss.Spec.ServiceName)
	if !ok {
		p.addf("%s: serviceName %s is not a Service", where, ss.Spec.ServiceName)
		return
	}
	if svc.Spec.ClusterIP != "None" || !svc.Spec.PublishNotReadyAddresses {
		p.addf("%s: Service %s must be headless (clusterIP: None) and publish not-ready pods, so the nodes find each other before they are ready", where, svc.Metadata.Name)
	}
	// Pods are <set>-N.<service>: the names routes, NATS_URL and KEDA use.
	nodes := map[string]string{}
	for i := 0; ss.Spec.Replicas != nil && i < *ss.Spec.Replicas; i++ {
		pod := fmt.Sprintf("%s-%d", ss.Metadata.Name, i)
		for _, h := range []string{pod + "." + svc.Metadata.Name, pod + "." + svc.Metadata.Name + "." + ns, pod + "." + svc.Metadata.Name + "." + ns + ".svc", pod + "." + svc.Metadata.Name + "." + ns + ".svc.cluster.local"} {
			nodes[h] = pod
		}
	}
	for _, h := range nc.routeHosts() {
		if _, ok := nodes[h]; !ok {
			p.addf("%s: nats-server.conf routes to %s, which is no pod of this StatefulSet (pods: %s-N.%s)", where, h, ss.Metadata.Name, svc.Metadata.Name)
		}
	}
	for _, pr := range procs {
		if u := pr.setting("nats-url"); u != "" {
			checkNATSURL(pr.where, u, nodes, o.Port, p)
		}
	}
	b.natsMonitor = fmt.Sprintf("%s.%s.svc.cluster.local:%d", svc.Metadata.Name, ns, o.HTTPPort)

	pod := &ss.Spec.Template.Spec
	var ct *container
	for i := range pod.Containers {
		if repo, _ := splitImage(pod.Containers[i].Image); repo == "nats" {
			ct = &pod.Containers[i]
		}
	}
	cw := where + " container " + ct.Name
	checkNATSImage(cw, ct.Image, p)

	// The configuration is nats-server.conf, verbatim, where --config says.
	argv := append(slices.Clone(ct.Command), ct.Args...)
	checkNATSArgs(cw, argv, nc, p)
	conf := natsConfigArg(argv)
	found := false
	for _, m := range ct.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.ConfigMap == nil {
				continue
			}
			cm, ok := object[*configMapObj](b, "ConfigMap", v.ConfigMap.Name)
			if !ok {
				continue
			}
			for key, text := range cm.Data {
				if path.Join(m.MountPath, key) != conf {
					continue
				}
				found = true
				if text != nc.text {
					p.addf("%s: ConfigMap %s key %s differs from deploy/nats-server.conf; copy the file into it", where, cm.Metadata.Name, key)
				}
			}
		}
	}
	if !found {
		p.addf("%s: --config %q is not a key of a mounted ConfigMap", cw, conf)
	}

	// Each pod is named after itself: KEDA reaches the consumer leader at
	// <server name>.<service>.
	for _, v := range nc.vars {
		ok := false
		for _, e := range ct.Env {
			if e.Name == v && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
				ok = true
			}
		}
		if !ok {
			p.addf("%s: set %s from the pod name (fieldRef metadata.name): nats-server.conf names the server with it", cw, v)
		}
	}

	// Storage: the store and pid file on the claim, the claim above the
	// store's limit.
	var data []string
	for _, m := range ct.VolumeMounts {
		for _, t := range ss.Spec.VolumeClaimTemplates {
			if t.Metadata.Name == m.Name {
				data = append(data, m.MountPath)
				size, err := quantity(t.Spec.Resources.Requests["storage"])
				if err != nil || (o.JetStreamMaxStore > 0 && size <= float64(o.JetStreamMaxStore)) {
					p.addf("%s: claim %s of %s is not above jetstream.max_file_store (%d bytes)", where, t.Metadata.Name, t.Spec.Resources.Requests["storage"], o.JetStreamMaxStore)
				}
			}
		}
	}
	if !underMount(o.StoreDir, data) {
		p.addf("%s: the JetStream store %s is not on a persistent volume claim (claims at %v)", cw, o.StoreDir, data)
	}
	if o.PidFile != "" && !underMount(o.PidFile, data) {
		p.addf("%s: pid_file %s is not on a writable volume", cw, o.PidFile)
	}

	// Ports and probes on the monitoring port.
	ports := map[string]int{}
	for _, pt := range ct.Ports {
		ports[pt.Name] = pt.ContainerPort
	}
	vals := slices.Collect(maps.Values(ports))
	if !slices.Contains(vals, o.Port) || !slices.Contains(vals, o.Cluster.Port) || !slices.Contains(vals, o.HTTPPort) {
		p.addf("%s: container ports %v, want the client (%d), cluster (%d) and monitoring (%d) ports of nats-server.conf", cw, ports, o.Port, o.Cluster.Port, o.HTTPPort)
	}
	for kind, pb := range map[string]*probe{"liveness": ct.LivenessProbe, "readiness": ct.ReadinessProbe, "startup": ct.StartupProbe} {
		if pb == nil || pb.HTTPGet == nil {
			continue
		}
		port, _ := resolvePort(pb.HTTPGet.Port, ports)
		if port != o.HTTPPort {
			p.addf("%s: the %s probe is on port %d, not the monitoring port %d", cw, kind, port, o.HTTPPort)
			continue
		}
		b.natsProbes = append(b.natsProbes, httpProbe{kind: cw + " " + kind + " probe", path: pb.HTTPGet.Path, port: port})
	}

	// Lame duck mode on the way out, and time for it.
	g := pod.TerminationGracePeriodSeconds
	if g == nil || float64(*g) <= nc.lameDuck().Seconds() {
		p.addf("%s: terminationGracePeriodSeconds must exceed lame duck mode (%s)", where, nc.lameDuck())
	}
	if o.PidFile != "" {
		var pre []string
		if ct.Lifecycle != nil && ct.Lifecycle.PreStop != nil && ct.Lifecycle.PreStop.Exec != nil {
			pre = ct.Lifecycle.PreStop.Exec.Command
		}
		if !slices.Contains(pre, "ldm="+o.PidFile) {
			p.addf("%s: want a preStop hook 'nats-server --signal ldm=%s' so the node leaves in lame duck mode", cw, o.PidFile)
		}
	}
}

// kedaTriggerFields are the nats-jetstream scaler's metadata fields.
var kedaTriggerFields = []string{"natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold", "activationLagThreshold", "useHttps"}

// checkScaledObjects checks each KEDA ScaledObject scales a stage's
// Deployment on that stage's own consumer.
func checkScaledObjects(b *bundle, c *cli, ns string, procs []*process, p *problems) {
	for _, so := range objectsOf[*scaledObjectObj](b, "ScaledObject") {
		where := fmt.Sprintf("%s: ScaledObject %s", b.fileOf("ScaledObject", so.Metadata.Name), so.Metadata.Name)
		ref := so.Spec.ScaleTargetRef
		if ref.Kind != "" && ref.Kind != "Deployment" {
			p.addf("%s: scales a %s; the stages are Deployments", where, ref.Kind)
		}
		d, ok := object[*deploymentObj](b, "Deployment", ref.Name)
		if !ok {
			p.addf("%s: scaleTargetRef %s is not a Deployment", where, ref.Name)
			continue
		}
		if d.Spec.Replicas != nil {
			p.addf("%s: Deployment %s sets replicas, which fights the autoscaler on every apply; leave it out", where, ref.Name)
		}
		min, max := 0, 100
		if so.Spec.MinReplicaCount != nil {
			min = *so.Spec.MinReplicaCount
		}
		if so.Spec.MaxReplicaCount != nil {
			max = *so.Spec.MaxReplicaCount
		}
		if min > max || max < 1 {
			p.addf("%s: minReplicaCount %d, maxReplicaCount %d", where, min, max)
		}
		var consumers []string
		for _, pr := range procs {
			if pr.unit == ref.Name {
				consumers = append(consumers, pr.consumers(c)...)
			}
		}
		if len(so.Spec.Triggers) == 0 {
			p.addf("%s: no triggers", where)
		}
		for i, t := range so.Spec.Triggers {
			tw := fmt.Sprintf("%s trigger %d", where, i+1)
			if t.Type != "nats-jetstream" {
				p.addf("%s: type %q, want nats-jetstream", tw, t.Type)
				continue
			}
			for k := range t.Metadata {
				if !slices.Contains(kedaTriggerFields, k) {
					p.addf("%s: unknown field %s (the scaler reads %v)", tw, k, kedaTriggerFields)
				}
			}
			m := t.Metadata
			if m["natsServerMonitoringEndpoint"] != b.natsMonitor {
				p.addf("%s: natsServerMonitoringEndpoint %q, want %q: the NATS Service's DNS name and monitoring port, to which KEDA prefixes the leader's server name", tw, m["natsServerMonitoringEndpoint"], b.natsMonitor)
			}
			if m["account"] != "$G" {
				p.addf("%s: account %q, want $G (narrator uses NATS's default account)", tw, m["account"])
			}
			if m["stream"] != queue.TaskStream {
				p.addf("%s: stream %q, want %s", tw, m["stream"], queue.TaskStream)
			}
			if !slices.Contains(consumers, m["consumer"]) {
				p.addf("%s: consumer %q is not the consumer Deployment %s works on (%v)", tw, m["consumer"], ref.Name, consumers)
			}
			b.kedaConsumers = append(b.kedaConsumers, m["consumer"])
			if n, err := strconv.Atoi(m["lagThreshold"]); err != nil || n < 1 {
				p.addf("%s: lagThreshold %q, want a positive whole number", tw, m["lagThreshold"])
			}
			if v, ok := m["activationLagThreshold"]; ok {
				if n, err := strconv.Atoi(v); err != nil || n < 0 {
					p.addf("%s: activationLagThreshold %q, want a whole number", tw, v)
				}
			}
		}
	}
	if len(objectsOf[*scaledObjectObj](b, "ScaledObject")) == 0 {
		p.addf("k8s/: no KEDA ScaledObject; synth workers should scale on consumer lag")
	}
	scaled := false
	for _, so := range objectsOf[*scaledObjectObj](b, "ScaledObject") {
		for _, pr := range procs {
			if pr.unit == so.Spec.ScaleTargetRef.Name && pr.command() == "worker" && slices.Contains(pr.stages(c), "synth") {
				scaled = true
			}
		}
	}
	if !scaled {
		p.addf("k8s/: no ScaledObject scales the synth workers")
	}
}

var quantityRE = regexp.MustCompile(`^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$`)

// quantity parses a Kubernetes resource quantity.
func quantity(s string) (float64, error) {
	m := quantityRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a quantity", s)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	mult := map[string]float64{"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}[m[2]]
	return v * mult, nil
}

// goMemLimit parses a GOMEMLIMIT value (bytes with B, KiB, MiB, GiB).
func goMemLimit(s string) (float64, error) {
	m := regexp.MustCompile(`^([0-9]+)(B|KiB|MiB|GiB|TiB)?$`).FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("want a number of bytes with B, KiB, MiB or GiB")
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v * map[string]float64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[m[2]], nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
