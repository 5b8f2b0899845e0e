module keystage.dev/keystage

go 1.26.8
