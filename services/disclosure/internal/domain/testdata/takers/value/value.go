package value

import "github.com/lillvet/register/services/disclosure/internal/domain/testdata/takers/helper"

var success = helper.Success
