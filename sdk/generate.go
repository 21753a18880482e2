package sdk

//go:generate protoc -I proto --go_out=proto --go_opt=paths=source_relative --go-grpc_out=proto --go-grpc_opt=paths=source_relative bedrot/plugin/v1/plugin.proto bedrot/source/v1/source.proto bedrot/validator/v1/validator.proto bedrot/agent/v1/agent.proto
