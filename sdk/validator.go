package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	validatorv1 "github.com/bedrot-label/bedrot/sdk/proto/bedrot/validator/v1"
)

// KindValidator is the plugin-set key of validator plugins.
const KindValidator = "validator"

// Validator checks datasets against expectation suites (Great Expectations
// suites for the quality-ge plugin). Findings are data: a validation result
// document, not an error. Errors are for suites that cannot be run
// (ConfigError) and for failures of the validator itself.
//
// Implementations must embed UnimplementedValidator.
type Validator interface {
	// CheckSuite parses a suite without data; a bad suite is a ConfigError
	// naming the suite, the expectation and the key.
	CheckSuite(ctx context.Context, req SuiteRequest) (SuiteInfo, error)
	// Validate reads the dataset's rows from batches until io.EOF and
	// returns the validation result. Memory should not grow with the rows.
	Validate(ctx context.Context, req ValidateRequest, batches BatchReader) (Validation, error)

	mustEmbedUnimplementedValidator()
}

// SuiteRequest names a suite.
type SuiteRequest struct {
	// Suite is the suite file's content.
	Suite []byte
	// SuiteFile is the suite file's name (for messages and a default name).
	SuiteFile string
	Config    Config
}

// SuiteInfo describes a parsed suite.
type SuiteInfo struct {
	Name         string
	Expectations int
}

// ValidateRequest says what to validate.
type ValidateRequest struct {
	SuiteRequest
	// Dataset is the dataset's name, e.g. raw.distrokid.earnings.
	Dataset string
	// Schema is the schema of every batch.
	Schema Schema
	// ResultFormat is BOOLEAN_ONLY, BASIC, SUMMARY (default) or COMPLETE.
	ResultFormat string
}

// BatchReader hands a validator the dataset's rows.
type BatchReader interface {
	// Next returns the next batch, or io.EOF after the last. The batch is
	// valid until the next call.
	Next() (*RecordBatch, error)
}

// Validation is a validator's answer.
type Validation struct {
	// Result is the GX 1.x validation result JSON.
	Result []byte
	// Success says every expectation passed.
	Success bool
	// Score is the data quality score, 0 to 1.
	Score float64
	// Rows is how many rows were validated.
	Rows int64
}

// UnimplementedValidator must be embedded by every Validator.
type UnimplementedValidator struct{}

// CheckSuite returns ErrUnimplemented.
func (UnimplementedValidator) CheckSuite(context.Context, SuiteRequest) (SuiteInfo, error) {
	return SuiteInfo{}, ErrUnimplemented
}

// Validate returns ErrUnimplemented.
func (UnimplementedValidator) Validate(context.Context, ValidateRequest, BatchReader) (Validation, error) {
	return Validation{}, ErrUnimplemented
}

func (UnimplementedValidator) mustEmbedUnimplementedValidator() {}

// validatorServer adapts a Validator to the gRPC ValidatorService.
type validatorServer struct {
	validatorv1.UnimplementedValidatorServiceServer
	v Validator
}

func (s *validatorServer) CheckSuite(ctx context.Context, req *validatorv1.CheckSuiteRequest) (*validatorv1.CheckSuiteResponse, error) {
	info, err := s.v.CheckSuite(ctx, SuiteRequest{Suite: req.Suite, SuiteFile: req.SuiteFile, Config: Config(req.Config)})
	if err != nil {
		return nil, errorToStatus(err)
	}
	return &validatorv1.CheckSuiteResponse{Name: info.Name, Expectations: int32(info.Expectations)}, nil
}

func (s *validatorServer) Validate(stream grpc.ClientStreamingServer[validatorv1.ValidateRequest, validatorv1.ValidateResponse]) error {
	first, err := stream.Recv()
	if err != nil {
		return errorToStatus(fmt.Errorf("failed to receive the start of the validation: %w", err))
	}
	st := first.GetStart()
	if st == nil {
		return errorToStatus(errors.New("the validation stream must begin with Start"))
	}
	req := ValidateRequest{SuiteRequest: SuiteRequest{Suite: st.Suite, SuiteFile: st.SuiteFile, Config: Config(st.Config)},
		Dataset: st.Dataset, Schema: schemaFromProto(st.Schema), ResultFormat: st.ResultFormat}
	out, err := s.v.Validate(stream.Context(), req, &batchReceiver{stream: stream})
	if err != nil {
		return errorToStatus(err)
	}
	return stream.SendAndClose(&validatorv1.ValidateResponse{Result: out.Result, Success: out.Success, DataQualityScore: out.Score, Rows: out.Rows})
}

// batchReceiver reads batches from the Validate stream.
type batchReceiver struct {
	stream grpc.ClientStreamingServer[validatorv1.ValidateRequest, validatorv1.ValidateResponse]
}

func (r *batchReceiver) Next() (*RecordBatch, error) {
	m, err := r.stream.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("failed to receive a batch: %w", err)
	}
	pb := m.GetBatch()
	if pb == nil {
		return nil, errors.New("the host sent a second Start in one validation")
	}
	return batchFromProto(pb)
}

// validatorGRPCPlugin is the go-plugin glue for ValidatorService.
type validatorGRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	newValidator func() Validator
}

func (p *validatorGRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	validatorv1.RegisterValidatorServiceServer(s, &validatorServer{v: p.newValidator()})
	return nil
}

func (p *validatorGRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &ValidatorClient{c: validatorv1.NewValidatorServiceClient(c)}, nil
}

// ValidatorClient calls a validator plugin (host side).
type ValidatorClient struct {
	c validatorv1.ValidatorServiceClient
}

// CheckSuite asks the validator to parse a suite.
func (c *ValidatorClient) CheckSuite(ctx context.Context, req SuiteRequest) (SuiteInfo, error) {
	resp, err := c.c.CheckSuite(ctx, &validatorv1.CheckSuiteRequest{Suite: req.Suite, SuiteFile: req.SuiteFile, Config: req.Config})
	if err != nil {
		return SuiteInfo{}, errorFromStatus(err)
	}
	return SuiteInfo{Name: resp.Name, Expectations: int(resp.Expectations)}, nil
}

// Validate starts a validation: Send the dataset's batches, then Close to
// get the result.
func (c *ValidatorClient) Validate(ctx context.Context, req ValidateRequest) (*ValidateStream, error) {
	st, err := c.c.Validate(ctx)
	if err != nil {
		return nil, errorFromStatus(err)
	}
	start := &validatorv1.Start{Suite: req.Suite, SuiteFile: req.SuiteFile, Dataset: req.Dataset, Schema: schemaToProto(req.Schema),
		ResultFormat: req.ResultFormat, Config: req.Config}
	if err := st.Send(&validatorv1.ValidateRequest{Message: &validatorv1.ValidateRequest_Start{Start: start}}); err != nil {
		return nil, validateSendError(st, err)
	}
	return &ValidateStream{s: st}, nil
}

// ValidateStream is the host's end of a Validate.
type ValidateStream struct {
	s grpc.ClientStreamingClient[validatorv1.ValidateRequest, validatorv1.ValidateResponse]
}

// Send sends one batch of the dataset.
func (v *ValidateStream) Send(b *RecordBatch) error {
	if err := v.s.Send(&validatorv1.ValidateRequest{Message: &validatorv1.ValidateRequest_Batch{Batch: batchToProto(b)}}); err != nil {
		return validateSendError(v.s, err)
	}
	return nil
}

// Close says the dataset is complete and returns the validation.
func (v *ValidateStream) Close() (Validation, error) {
	resp, err := v.s.CloseAndRecv()
	if err != nil {
		return Validation{}, errorFromStatus(err)
	}
	return Validation{Result: resp.Result, Success: resp.Success, Score: resp.DataQualityScore, Rows: resp.Rows}, nil
}

// validateSendError turns a failed Send into the validator's own error: on
// a client stream gRPC reports io.EOF from Send and the status from Recv.
func validateSendError(s grpc.ClientStreamingClient[validatorv1.ValidateRequest, validatorv1.ValidateResponse], err error) error {
	if errors.Is(err, io.EOF) {
		if _, rerr := s.CloseAndRecv(); rerr != nil {
			return errorFromStatus(rerr)
		}
	}
	return errorFromStatus(err)
}
