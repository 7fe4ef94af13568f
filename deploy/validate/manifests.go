package validate

import (
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// Objects are the rendered objects of one kustomization, decoded into the
// Kubernetes API types.
type Objects struct {
	Namespaces      []corev1.Namespace
	ServiceAccounts []corev1.ServiceAccount
	ConfigMaps      []corev1.ConfigMap
	Secrets         []corev1.Secret
	Services        []corev1.Service
	Deployments     []appsv1.Deployment
	HPAs            []autoscalingv2.HorizontalPodAutoscaler
	PDBs            []policyv1.PodDisruptionBudget
	NetworkPolicies []networkingv1.NetworkPolicy
}

// Render builds the kustomization in dir, as `kustomize build dir` does, and
// decodes every object strictly: a misspelt or misplaced field is an error,
// as the API server would report it. A kind this package does not know is an
// error too, so that nothing escapes the checks unseen.
func Render(fsys filesys.FileSystem, dir string) (Objects, error) {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		return Objects{}, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var (
		objs Objects
		errs []error
	)
	for _, r := range resources.Resources() {
		raw, err := r.AsYAML()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.CurId(), err))
			continue
		}
		if err := objs.add(r.GetApiVersion(), r.GetKind(), raw); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err))
		}
	}
	return objs, errors.Join(errs...)
}

func (o *Objects) add(apiVersion, kind string, raw []byte) error {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return decodeInto(raw, &o.Namespaces)
	case "v1 ServiceAccount":
		return decodeInto(raw, &o.ServiceAccounts)
	case "v1 ConfigMap":
		return decodeInto(raw, &o.ConfigMaps)
	case "v1 Secret":
		return decodeInto(raw, &o.Secrets)
	case "v1 Service":
		return decodeInto(raw, &o.Services)
	case "apps/v1 Deployment":
		return decodeInto(raw, &o.Deployments)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return decodeInto(raw, &o.HPAs)
	case "policy/v1 PodDisruptionBudget":
		return decodeInto(raw, &o.PDBs)
	case "networking.k8s.io/v1 NetworkPolicy":
		return decodeInto(raw, &o.NetworkPolicies)
	default:
		return fmt.Errorf("kind %s %s is not checked by deploy/validate: add it there first", apiVersion, kind)
	}
}

func decodeInto[T any](raw []byte, list *[]T) error {
	var v T
	if err := yaml.UnmarshalStrict(raw, &v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	*list = append(*list, v)
	return nil
}
