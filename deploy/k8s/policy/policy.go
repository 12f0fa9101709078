// Package policy checks the Kubernetes manifests in deploy/k8s offline: the
// controls the project promises (non-root, read-only root, no capabilities,
// seccomp, no service-account token, secrets as files, probes, resources,
// two replicas with a disruption budget) and a network allowlist that must
// match exactly. It is a separate module so its YAML parser never enters
// the server's dependency graph.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Object is one decoded manifest.
type Object = map[string]any

// Load reads every document of every *.yaml file in dir.
func Load(dir string) ([]Object, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var objs []Object
	for _, f := range files {
		b, err := os.ReadFile(f) // #nosec G304 -- the project's own manifest directory
		if err != nil {
			return nil, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o Object
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if o != nil {
				objs = append(objs, o)
			}
		}
	}
	return objs, nil
}

// Flow is one allowed connection: Direction is "ingress" or "egress", Pod
// the app label of the pods the policy selects, Peer the app label (or
// namespace/app) on the other side.
type Flow struct {
	Direction, Pod, Peer, Protocol string
	Port                           int
}

func (f Flow) String() string {
	return fmt.Sprintf("%s %s <-> %s %s/%d", f.Direction, f.Pod, f.Peer, f.Protocol, f.Port)
}

// AllowedFlows is the whole network allowlist. Anything else is a finding.
var AllowedFlows = []Flow{
	{"ingress", "rampart", "ingress-nginx/ingress-nginx", "TCP", 8080},
	{"egress", "rampart", "postgresql", "TCP", 5432},
	{"egress", "rampart", "redis", "TCP", 6379},
	{"egress", "rampart", "kube-system/kube-dns", "UDP", 53},
	{"egress", "rampart", "kube-system/kube-dns", "TCP", 53},
	{"ingress", "postgresql", "rampart", "TCP", 5432},
	{"ingress", "redis", "rampart", "TCP", 6379},
}

// Secret variables Rampart reads; they must come from files, never values.
var secretVars = []string{"RAMPART_DATABASE_URL", "RAMPART_REDIS_URL", "RAMPART_MASTER_KEY"}

// Check returns every problem found, in a stable order.
func Check(objs []Object) []string {
	var p problems
	var deployments, pdbs, services, netpols []Object
	for _, o := range objs {
		switch str(o, "kind") {
		case "Deployment":
			deployments = append(deployments, o)
		case "PodDisruptionBudget":
			pdbs = append(pdbs, o)
		case "Service":
			services = append(services, o)
		case "NetworkPolicy":
			netpols = append(netpols, o)
		}
	}
	if len(deployments) == 0 {
		p.add("no Deployment")
	}
	for _, d := range deployments {
		checkDeployment(&p, d, pdbs, services)
	}
	checkNetwork(&p, netpols)
	sort.Strings(p)
	return p
}

type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func checkDeployment(p *problems, d Object, pdbs, services []Object) {
	name := str(d, "metadata", "name")
	if n, _ := get(d, "spec", "replicas").(int); n < 2 {
		p.add("%s: replicas %d, want at least 2", name, n)
	}
	labels := mapAt(d, "spec", "template", "metadata", "labels")
	pod := mapAt(d, "spec", "template", "spec")
	if get(pod, "automountServiceAccountToken") != false {
		p.add("%s: automountServiceAccountToken must be false", name)
	}
	if get(pod, "hostNetwork") == true || get(pod, "hostPID") == true || get(pod, "hostIPC") == true {
		p.add("%s: shares a host namespace", name)
	}
	psc := mapAt(pod, "securityContext")
	if get(psc, "runAsNonRoot") != true {
		p.add("%s: pod securityContext.runAsNonRoot must be true", name)
	}
	if str(psc, "seccompProfile", "type") != "RuntimeDefault" {
		p.add("%s: pod seccompProfile must be RuntimeDefault", name)
	}
	secretMounts := map[string]bool{} // volume names backed by a Secret
	for _, v := range list(pod, "volumes") {
		vm, _ := v.(map[string]any)
		if get(vm, "secret") != nil {
			secretMounts[str(vm, "name")] = true
		}
		if get(vm, "hostPath") != nil {
			p.add("%s: hostPath volume %q", name, str(vm, "name"))
		}
	}
	containers := list(pod, "containers")
	if len(containers) == 0 {
		p.add("%s: no containers", name)
	}
	for _, c := range append(containers, list(pod, "initContainers")...) {
		checkContainer(p, name, c.(map[string]any), secretMounts)
	}
	if !selectedBy(pdbs, labels) {
		p.add("%s: no PodDisruptionBudget selects its pods", name)
	}
	for _, pdb := range pdbs {
		if selects(mapAt(pdb, "spec", "selector", "matchLabels"), labels) {
			if n, ok := get(pdb, "spec", "minAvailable").(int); !ok || n < 1 {
				p.add("%s: PodDisruptionBudget %s must keep minAvailable >= 1", name, str(pdb, "metadata", "name"))
			}
		}
	}
	found := false
	for _, s := range services {
		found = found || selects(mapAt(s, "spec", "selector"), labels)
	}
	if !found {
		p.add("%s: no Service selects its pods", name)
	}
}

func checkContainer(p *problems, dep string, c map[string]any, secretVolumes map[string]bool) {
	name := dep + "/" + str(c, "name")
	image := str(c, "image")
	if _, tag, ok := strings.Cut(lastPathElem(image), ":"); !strings.Contains(image, "@sha256:") && (!ok || tag == "latest") {
		p.add("%s: image %q must be pinned to a version tag or digest", name, image)
	}
	sc := mapAt(c, "securityContext")
	if get(sc, "readOnlyRootFilesystem") != true {
		p.add("%s: readOnlyRootFilesystem must be true", name)
	}
	if get(sc, "allowPrivilegeEscalation") != false {
		p.add("%s: allowPrivilegeEscalation must be false", name)
	}
	if get(sc, "privileged") == true {
		p.add("%s: privileged", name)
	}
	if get(sc, "runAsNonRoot") == false {
		p.add("%s: runAsNonRoot overridden to false", name)
	}
	if uid, ok := get(sc, "runAsUser").(int); ok && uid == 0 {
		p.add("%s: runAsUser 0", name)
	}
	drop := list(sc, "capabilities", "drop")
	if !slices.Contains(drop, any("ALL")) {
		p.add("%s: capabilities.drop must contain ALL", name)
	}
	if add := list(sc, "capabilities", "add"); len(add) > 0 {
		p.add("%s: adds capabilities %v", name, add)
	}
	if t := str(sc, "seccompProfile", "type"); t != "" && t != "RuntimeDefault" {
		p.add("%s: seccompProfile %s", name, t)
	}
	for _, kind := range []string{"requests", "limits"} {
		for _, r := range []string{"cpu", "memory"} {
			if get(c, "resources", kind, r) == nil {
				p.add("%s: resources.%s.%s missing", name, kind, r)
			}
		}
	}
	if path := str(c, "livenessProbe", "httpGet", "path"); path != "/healthz" {
		p.add("%s: livenessProbe must GET /healthz (got %q)", name, path)
	}
	if path := str(c, "readinessProbe", "httpGet", "path"); path != "/readyz" {
		p.add("%s: readinessProbe must GET /readyz (got %q)", name, path)
	}
	env := map[string]map[string]any{}
	for _, e := range list(c, "env") {
		em, _ := e.(map[string]any)
		env[str(em, "name")] = em
	}
	mounts := map[string]map[string]any{} // mountPath -> mount
	for _, m := range list(c, "volumeMounts") {
		mm, _ := m.(map[string]any)
		mounts[str(mm, "mountPath")] = mm
	}
	for _, v := range secretVars {
		if _, ok := env[v]; ok {
			p.add("%s: %s set in the environment; secrets must be files (%s_FILE)", name, v, v)
		}
		f, ok := env[v+"_FILE"]
		if !ok {
			p.add("%s: %s_FILE missing", name, v)
			continue
		}
		path := str(f, "value")
		m := mounts[filepath.Dir(path)]
		if m == nil || !secretVolumes[str(m, "name")] || get(m, "readOnly") != true {
			p.add("%s: %s_FILE=%q is not in a read-only Secret volume mount", name, v, path)
		}
	}
	for _, e := range env {
		if get(e, "valueFrom", "secretKeyRef") != nil {
			p.add("%s: %s comes from a secretKeyRef; secrets must be files", name, str(e, "name"))
		}
	}
}

// checkNetwork requires a default deny of both directions, explicit peers
// and ports in every rule, and exactly the AllowedFlows.
func checkNetwork(p *problems, pols []Object) {
	denyIn, denyOut := false, false
	got := map[Flow]string{}
	for _, np := range pols {
		name := str(np, "metadata", "name")
		spec := mapAt(np, "spec")
		types := list(spec, "policyTypes")
		sel := mapAt(spec, "podSelector", "matchLabels")
		if len(sel) == 0 && len(list(spec, "podSelector", "matchExpressions")) == 0 {
			if slices.Contains(types, any("Ingress")) && len(list(spec, "ingress")) == 0 {
				denyIn = true
			}
			if slices.Contains(types, any("Egress")) && len(list(spec, "egress")) == 0 {
				denyOut = true
			}
		}
		podApp := str(sel, "app.kubernetes.io/name")
		for _, dir := range []struct{ key, peers, direction string }{
			{"ingress", "from", "ingress"}, {"egress", "to", "egress"},
		} {
			for i, r := range list(spec, dir.key) {
				rule, _ := r.(map[string]any)
				peers := list(rule, dir.peers)
				ports := list(rule, "ports")
				if len(peers) == 0 {
					p.add("%s: %s rule %d has no %s: it allows every peer", name, dir.key, i, dir.peers)
				}
				if len(ports) == 0 {
					p.add("%s: %s rule %d has no ports: it allows every port", name, dir.key, i)
				}
				if podApp == "" {
					p.add("%s: %s rule on pods without an app.kubernetes.io/name selector", name, dir.key)
				}
				for _, peer := range peers {
					pm, _ := peer.(map[string]any)
					peerName := peerName(pm)
					if peerName == "" {
						p.add("%s: %s rule %d has a peer that is not a labelled pod (ipBlock or whole namespace): %v", name, dir.key, i, pm)
						continue
					}
					for _, port := range ports {
						pt, _ := port.(map[string]any)
						n, ok := get(pt, "port").(int)
						if !ok || get(pt, "endPort") != nil {
							p.add("%s: %s rule %d: port must be a single number, got %v", name, dir.key, i, pt)
							continue
						}
						proto := str(pt, "protocol")
						if proto == "" {
							proto = "TCP"
						}
						got[Flow{dir.direction, podApp, peerName, proto, n}] = name
					}
				}
			}
		}
	}
	if !denyIn || !denyOut {
		p.add("no default-deny NetworkPolicy for both Ingress and Egress on every pod (deny ingress %v, egress %v)", denyIn, denyOut)
	}
	for f, pol := range got {
		if !slices.Contains(AllowedFlows, f) {
			p.add("%s: allows %s, which is not on the allowlist", pol, f)
		}
	}
	for _, f := range AllowedFlows {
		if _, ok := got[f]; !ok {
			p.add("no NetworkPolicy allows %s (Rampart would not work)", f)
		}
	}
}

// peerName is "app" for a pod in the same namespace, "ns/app" for a pod in
// a named namespace, "" for anything wider.
func peerName(pm map[string]any) string {
	app := str(pm, "podSelector", "matchLabels", "app.kubernetes.io/name")
	if app == "" {
		app = str(pm, "podSelector", "matchLabels", "k8s-app")
	}
	if app == "" || get(pm, "ipBlock") != nil {
		return ""
	}
	if get(pm, "namespaceSelector") == nil {
		return app
	}
	ns := str(pm, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")
	if ns == "" {
		return ""
	}
	return ns + "/" + app
}

func selectedBy(pdbs []Object, labels map[string]any) bool {
	for _, pdb := range pdbs {
		if selects(mapAt(pdb, "spec", "selector", "matchLabels"), labels) {
			return true
		}
	}
	return false
}

// selects reports whether a non-empty selector matches labels.
func selects(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func lastPathElem(image string) string {
	if i := strings.LastIndexByte(image, '/'); i >= 0 {
		return image[i+1:]
	}
	return image
}

func get(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, path ...string) string { s, _ := get(v, path...).(string); return s }

func mapAt(v any, path ...string) map[string]any {
	m, _ := get(v, path...).(map[string]any)
	return m
}

func list(v any, path ...string) []any { l, _ := get(v, path...).([]any); return l }
