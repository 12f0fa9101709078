package policy

import (
	"strings"
	"testing"
)

func load(t *testing.T) []Object {
	t.Helper()
	objs, err := Load("..")
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestManifests is the CI gate: the manifests in deploy/k8s have no finding.
func TestManifests(t *testing.T) {
	objs := load(t)
	if len(objs) < 8 {
		t.Fatalf("loaded %d objects from deploy/k8s, want the Deployment, Service, PDB and 5 NetworkPolicies", len(objs))
	}
	for _, p := range Check(objs) {
		t.Error(p)
	}
}

func find(objs []Object, kind, name string) Object {
	for _, o := range objs {
		if str(o, "kind") == kind && str(o, "metadata", "name") == name {
			return o
		}
	}
	return nil
}

func container(objs []Object) map[string]any {
	return list(find(objs, "Deployment", "rampart"), "spec", "template", "spec", "containers")[0].(map[string]any)
}

// TestCheckCatchesRemovedControls removes or weakens one control at a time
// in a fresh copy of the real manifests; each must produce the finding.
func TestCheckCatchesRemovedControls(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func([]Object) []Object
		want   string
	}{
		{"writable root filesystem", func(o []Object) []Object {
			mapAt(container(o), "securityContext")["readOnlyRootFilesystem"] = false
			return o
		}, "readOnlyRootFilesystem must be true"},
		{"capabilities kept", func(o []Object) []Object {
			mapAt(container(o), "securityContext", "capabilities")["drop"] = []any{"NET_RAW"}
			return o
		}, "capabilities.drop must contain ALL"},
		{"capability added", func(o []Object) []Object {
			mapAt(container(o), "securityContext", "capabilities")["add"] = []any{"NET_ADMIN"}
			return o
		}, "adds capabilities"},
		{"root allowed", func(o []Object) []Object {
			mapAt(find(o, "Deployment", "rampart"), "spec", "template", "spec", "securityContext")["runAsNonRoot"] = false
			return o
		}, "runAsNonRoot must be true"},
		{"no seccomp", func(o []Object) []Object {
			delete(mapAt(find(o, "Deployment", "rampart"), "spec", "template", "spec", "securityContext"), "seccompProfile")
			return o
		}, "seccompProfile must be RuntimeDefault"},
		{"service-account token mounted", func(o []Object) []Object {
			delete(mapAt(find(o, "Deployment", "rampart"), "spec", "template", "spec"), "automountServiceAccountToken")
			return o
		}, "automountServiceAccountToken"},
		{"no memory limit", func(o []Object) []Object {
			delete(mapAt(container(o), "resources", "limits"), "memory")
			return o
		}, "resources.limits.memory missing"},
		{"liveness elsewhere", func(o []Object) []Object {
			mapAt(container(o), "livenessProbe", "httpGet")["path"] = "/"
			return o
		}, "livenessProbe must GET /healthz"},
		{"master key in the environment", func(o []Object) []Object {
			c := container(o)
			c["env"] = append(list(c, "env"), map[string]any{"name": "RAMPART_MASTER_KEY", "value": "x"})
			return o
		}, "RAMPART_MASTER_KEY set in the environment"},
		{"secret from secretKeyRef", func(o []Object) []Object {
			c := container(o)
			c["env"] = append(list(c, "env"), map[string]any{"name": "RAMPART_X",
				"valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "s", "key": "k"}}})
			return o
		}, "secretKeyRef"},
		{"one replica", func(o []Object) []Object {
			mapAt(find(o, "Deployment", "rampart"), "spec")["replicas"] = 1
			return o
		}, "replicas 1"},
		{"no disruption budget", func(o []Object) []Object {
			return without(o, "PodDisruptionBudget", "rampart")
		}, "no PodDisruptionBudget"},
		{"latest image", func(o []Object) []Object {
			container(o)["image"] = "registry.example.com/rampart:latest"
			return o
		}, "must be pinned"},
		{"no default deny", func(o []Object) []Object {
			return without(o, "NetworkPolicy", "default-deny")
		}, "no default-deny NetworkPolicy"},
		{"egress to an unlisted port", func(o []Object) []Object {
			eg := mapAt(find(o, "NetworkPolicy", "rampart-egress"), "spec")
			rule := list(eg, "egress")[0].(map[string]any)
			rule["ports"] = append(list(rule, "ports"), map[string]any{"protocol": "TCP", "port": 443})
			return o
		}, "allows egress rampart <-> postgresql TCP/443, which is not on the allowlist"},
		{"egress to anywhere", func(o []Object) []Object {
			eg := mapAt(find(o, "NetworkPolicy", "rampart-egress"), "spec")
			eg["egress"] = append(list(eg, "egress"), map[string]any{
				"ports": []any{map[string]any{"port": 443}}})
			return o
		}, "has no to: it allows every peer"},
		{"ingress on every port", func(o []Object) []Object {
			in := mapAt(find(o, "NetworkPolicy", "rampart-from-proxy"), "spec")
			delete(list(in, "ingress")[0].(map[string]any), "ports")
			return o
		}, "has no ports: it allows every port"},
		{"ingress from an ipBlock", func(o []Object) []Object {
			in := mapAt(find(o, "NetworkPolicy", "postgresql-from-rampart"), "spec")
			rule := list(in, "ingress")[0].(map[string]any)
			rule["from"] = append(list(rule, "from"), map[string]any{"ipBlock": map[string]any{"cidr": "0.0.0.0/0"}})
			return o
		}, "not a labelled pod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems := Check(tc.mutate(load(t)))
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Fatalf("want a finding containing %q, got %q", tc.want, problems)
		})
	}
}

func without(objs []Object, kind, name string) []Object {
	var out []Object
	for _, o := range objs {
		if str(o, "kind") != kind || str(o, "metadata", "name") != name {
			out = append(out, o)
		}
	}
	return out
}
