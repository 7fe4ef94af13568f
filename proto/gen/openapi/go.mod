module github.com/lillvet/register/proto/gen/openapi

go 1.26.8

require (
	go.yaml.in/yaml/v2 v2.4.4
	go.yaml.in/yaml/v3 v3.0.5
)
