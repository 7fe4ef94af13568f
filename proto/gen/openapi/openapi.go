// Package openapi holds the OpenAPI document generated from the protos, embedded so the
// gateway serves exactly what buf generated.
package openapi

import _ "embed"

// Document is the merged OpenAPI v2 document of every service, in YAML.
//
//go:embed lillvet.swagger.yaml
var Document []byte
