module example.com/rampart/deploy/k8s/policy

go 1.27

require go.yaml.in/yaml/v3 v3.0.6
