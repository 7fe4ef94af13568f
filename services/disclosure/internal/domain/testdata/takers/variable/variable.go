package variable

import (
	"github.com/lillvet/register/services/disclosure/internal/domain/testdata/takers/helper"
	"github.com/lillvet/register/services/platform/audit"
)

func record(name string) audit.Event { return helper.Success(name, "r") }
