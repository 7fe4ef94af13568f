package literal

import "github.com/lillvet/register/services/disclosure/internal/domain/testdata/takers/helper"

var event = helper.Success("a.helped", "r")
