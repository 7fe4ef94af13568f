package caller

import (
	"github.com/lillvet/register/services/disclosure/internal/domain/testdata/takers/helper"
	"github.com/lillvet/register/services/platform/audit"
)

func record(action string) audit.Event { return helper.Success(action, "r") }

var event = record("a.passed")
