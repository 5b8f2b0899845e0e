module keystage.dev/keystage

go 1.26.8

require (
	github.com/nbutton23/zxcvbn-go v0.0.0-20210217022336-fa2cb2858354
	golang.org/x/crypto v0.58.0
)

require golang.org/x/sys v0.49.0 // indirect
