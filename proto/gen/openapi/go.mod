module github.com/lillvet/register/proto/gen/openapi

go 1.26.8
