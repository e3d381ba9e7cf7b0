package deploy

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// The types below hold the parts of Kubernetes objects and compose services
// that the checks read. They are decoded with unknown fields refused, so a
// misspelt field (livenesProbe, healtcheck) is an error here, as it is for
// kubectl's strict validation. Subtrees the checks do not read are kept as
// any.

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type typeMeta struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type namespaceObj struct {
	typeMeta `yaml:",inline"`
}

type serviceAccountObj struct {
	typeMeta                     `yaml:",inline"`
	AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
}

type configMapObj struct {
	typeMeta `yaml:",inline"`
	Data     map[string]string `yaml:"data"`
}

type secretObj struct {
	typeMeta   `yaml:",inline"`
	Type       string            `yaml:"type"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

func (s *secretObj) hasKey(k string) bool {
	_, a := s.Data[k]
	_, b := s.StringData[k]
	return a || b
}

type serviceObj struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		Type                     string            `yaml:"type"`
		ClusterIP                string            `yaml:"clusterIP"`
		PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
		Selector                 map[string]string `yaml:"selector"`
		Ports                    []struct {
			Name       string      `yaml:"name"`
			Port       int         `yaml:"port"`
			TargetPort intOrString `yaml:"targetPort"`
			Protocol   string      `yaml:"protocol"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type deploymentObj struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Strategy any           `yaml:"strategy"`
		Template podTemplate   `yaml:"template"`
	} `yaml:"spec"`
}

type statefulSetObj struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		ServiceName          string        `yaml:"serviceName"`
		Replicas             *int          `yaml:"replicas"`
		PodManagementPolicy  string        `yaml:"podManagementPolicy"`
		UpdateStrategy       any           `yaml:"updateStrategy"`
		Selector             labelSelector `yaml:"selector"`
		Template             podTemplate   `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     struct {
				AccessModes      []string `yaml:"accessModes"`
				StorageClassName *string  `yaml:"storageClassName"`
				Resources        struct {
					Requests map[string]string `yaml:"requests"`
				} `yaml:"resources"`
			} `yaml:"spec"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type pdbObj struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		MaxUnavailable *intOrString  `yaml:"maxUnavailable"`
		MinAvailable   *intOrString  `yaml:"minAvailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type scaledObjectObj struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		ScaleTargetRef struct {
			Name       string `yaml:"name"`
			Kind       string `yaml:"kind"`
			APIVersion string `yaml:"apiVersion"`
		} `yaml:"scaleTargetRef"`
		MinReplicaCount *int `yaml:"minReplicaCount"`
		MaxReplicaCount *int `yaml:"maxReplicaCount"`
		PollingInterval *int `yaml:"pollingInterval"`
		CooldownPeriod  *int `yaml:"cooldownPeriod"`
		Advanced        any  `yaml:"advanced"`
		Triggers        []struct {
			Type              string            `yaml:"type"`
			Name              string            `yaml:"name"`
			Metadata          map[string]string `yaml:"metadata"`
			AuthenticationRef any               `yaml:"authenticationRef"`
		} `yaml:"triggers"`
	} `yaml:"spec"`
}

type ingressObj struct {
	typeMeta `yaml:",inline"`
	Spec     struct {
		IngressClassName string `yaml:"ingressClassName"`
		TLS              []struct {
			Hosts      []string `yaml:"hosts"`
			SecretName string   `yaml:"secretName"`
		} `yaml:"tls"`
		Rules []struct {
			Host string `yaml:"host"`
			HTTP struct {
				Paths []struct {
					Path     string `yaml:"path"`
					PathType string `yaml:"pathType"`
					Backend  struct {
						Service struct {
							Name string `yaml:"name"`
							Port struct {
								Name   string `yaml:"name"`
								Number int    `yaml:"number"`
							} `yaml:"port"`
						} `yaml:"service"`
					} `yaml:"backend"`
				} `yaml:"paths"`
			} `yaml:"http"`
		} `yaml:"rules"`
	} `yaml:"spec"`
}

type kustomizationObj struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Namespace  string   `yaml:"namespace"`
	Resources  []string `yaml:"resources"`
	Components []string `yaml:"components"`
	Images     []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

// componentObj is a kustomize Component: manifests, and patches to the
// manifests of the kustomization that names it. A patch is a partial
// object that names its target, merged into it.
type componentObj struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Resources  []string `yaml:"resources"`
	Patches    []struct {
		Path   string `yaml:"path"`
		Target any    `yaml:"target"`
	} `yaml:"patches"`
}

type podTemplate struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     podSpec    `yaml:"spec"`
}

type podSpec struct {
	ServiceAccountName            string `yaml:"serviceAccountName"`
	AutomountServiceAccountToken  *bool  `yaml:"automountServiceAccountToken"`
	TerminationGracePeriodSeconds *int   `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot   *bool  `yaml:"runAsNonRoot"`
		RunAsUser      *int64 `yaml:"runAsUser"`
		RunAsGroup     *int64 `yaml:"runAsGroup"`
		FSGroup        *int64 `yaml:"fsGroup"`
		SeccompProfile *struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Affinity                  any         `yaml:"affinity"`
	TopologySpreadConstraints any         `yaml:"topologySpreadConstraints"`
	NodeSelector              any         `yaml:"nodeSelector"`
	Tolerations               any         `yaml:"tolerations"`
	Containers                []container `yaml:"containers"`
	InitContainers            []container `yaml:"initContainers"`
	Volumes                   []volume    `yaml:"volumes"`
}

type container struct {
	Name            string   `yaml:"name"`
	Image           string   `yaml:"image"`
	ImagePullPolicy string   `yaml:"imagePullPolicy"`
	Command         []string `yaml:"command"`
	Args            []string `yaml:"args"`
	Env             []envVar `yaml:"env"`
	EnvFrom         []struct {
		Prefix       string `yaml:"prefix"`
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool  `yaml:"readOnlyRootFilesystem"`
		Capabilities             *struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Lifecycle      *struct {
		PreStop *struct {
			Exec *struct {
				Command []string `yaml:"command"`
			} `yaml:"exec"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
}

type envVar struct {
	Name      string  `yaml:"name"`
	Value     *string `yaml:"value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `yaml:"fieldPath"`
		} `yaml:"fieldRef"`
		ResourceFieldRef *struct {
			Resource string `yaml:"resource"`
			Divisor  string `yaml:"divisor"`
		} `yaml:"resourceFieldRef"`
		SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
		ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
	} `yaml:"valueFrom"`
}

type keyRef struct {
	Name     string `yaml:"name"`
	Key      string `yaml:"key"`
	Optional bool   `yaml:"optional"`
}

type probe struct {
	HTTPGet *struct {
		Path   string      `yaml:"path"`
		Port   intOrString `yaml:"port"`
		Scheme string      `yaml:"scheme"`
	} `yaml:"httpGet"`
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
	TCPSocket *struct {
		Port intOrString `yaml:"port"`
	} `yaml:"tcpSocket"`
	InitialDelaySeconds int `yaml:"initialDelaySeconds"`
	PeriodSeconds       int `yaml:"periodSeconds"`
	TimeoutSeconds      int `yaml:"timeoutSeconds"`
	SuccessThreshold    int `yaml:"successThreshold"`
	FailureThreshold    int `yaml:"failureThreshold"`
}

type keyToPath struct {
	Key  string `yaml:"key"`
	Path string `yaml:"path"`
	Mode *int   `yaml:"mode"`
}

type volume struct {
	Name      string `yaml:"name"`
	ConfigMap *struct {
		Name        string      `yaml:"name"`
		Items       []keyToPath `yaml:"items"`
		DefaultMode *int        `yaml:"defaultMode"`
	} `yaml:"configMap"`
	Secret *struct {
		SecretName  string      `yaml:"secretName"`
		Items       []keyToPath `yaml:"items"`
		DefaultMode *int        `yaml:"defaultMode"`
	} `yaml:"secret"`
	EmptyDir *struct {
		Medium    string `yaml:"medium"`
		SizeLimit string `yaml:"sizeLimit"`
	} `yaml:"emptyDir"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
}

// intOrString is a Kubernetes int-or-string field such as a probe's port.
type intOrString string

func (v *intOrString) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a number or a name", n.Line)
	}
	*v = intOrString(n.Value)
	return nil
}

// composeFile is a compose file: services, networks, volumes, and
// extension fields (x-...) that hold shared anchors.
type composeFile struct {
	Name       string                    `yaml:"name"`
	Services   map[string]composeService `yaml:"services"`
	Networks   map[string]any            `yaml:"networks"`
	Volumes    map[string]any            `yaml:"volumes"`
	Secrets    map[string]any            `yaml:"secrets"`
	Configs    map[string]any            `yaml:"configs"`
	Extensions map[string]any            `yaml:",inline"`
}

type composeService struct {
	Image           string                       `yaml:"image"`
	Build           *composeBuild                `yaml:"build"`
	Restart         string                       `yaml:"restart"`
	Networks        composeNetworks              `yaml:"networks"`
	StopGracePeriod string                       `yaml:"stop_grace_period"`
	StopSignal      string                       `yaml:"stop_signal"`
	DependsOn       map[string]composeDependency `yaml:"depends_on"`
	Entrypoint      stringList                   `yaml:"entrypoint"`
	Command         stringList                   `yaml:"command"`
	Environment     composeEnv                   `yaml:"environment"`
	Volumes         []string                     `yaml:"volumes"`
	Ports           []string                     `yaml:"ports"`
	Healthcheck     *struct {
		Test        stringList `yaml:"test"`
		Interval    string     `yaml:"interval"`
		Timeout     string     `yaml:"timeout"`
		Retries     int        `yaml:"retries"`
		StartPeriod string     `yaml:"start_period"`
		Disable     bool       `yaml:"disable"`
	} `yaml:"healthcheck"`
	Profiles []string `yaml:"profiles"`
	Deploy   any      `yaml:"deploy"`
	User     string   `yaml:"user"`
	ReadOnly bool     `yaml:"read_only"`
	Tmpfs    any      `yaml:"tmpfs"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Target     string `yaml:"target"`
}

type composeDependency struct {
	Condition string `yaml:"condition"`
	Restart   bool   `yaml:"restart"`
	Required  *bool  `yaml:"required"`
}

// composeNetworks is a service's networks, as a list of names or a map of
// names to settings (aliases).
type composeNetworks map[string]struct {
	Aliases []string `yaml:"aliases"`
}

func (n *composeNetworks) UnmarshalYAML(v *yaml.Node) error {
	*n = composeNetworks{}
	if v.Kind == yaml.SequenceNode {
		var names []string
		if err := v.Decode(&names); err != nil {
			return err
		}
		for _, name := range names {
			(*n)[name] = struct {
				Aliases []string `yaml:"aliases"`
			}{}
		}
		return nil
	}
	var m map[string]struct {
		Aliases []string `yaml:"aliases"`
	}
	if err := v.Decode(&m); err != nil {
		return err
	}
	for k, s := range m {
		(*n)[k] = s
	}
	return nil
}

// stringList is a command, entrypoint or healthcheck test: a list, or a
// string split on spaces.
type stringList []string

func (l *stringList) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind == yaml.ScalarNode {
		*l = strings.Fields(v.Value)
		return nil
	}
	var s []string
	if err := v.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// composeEnv is a service's environment, as a map or a list of NAME=value.
type composeEnv map[string]string

func (e *composeEnv) UnmarshalYAML(v *yaml.Node) error {
	*e = composeEnv{}
	if v.Kind == yaml.SequenceNode {
		var items []string
		if err := v.Decode(&items); err != nil {
			return err
		}
		for _, it := range items {
			k, val, _ := strings.Cut(it, "=")
			(*e)[k] = val
		}
		return nil
	}
	var m map[string]*string
	if err := v.Decode(&m); err != nil {
		return err
	}
	for k, val := range m {
		if val != nil {
			(*e)[k] = *val
		} else {
			(*e)[k] = ""
		}
	}
	return nil
}
