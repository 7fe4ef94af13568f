module github.com/lillvet/register/tools/test

go 1.26.8
