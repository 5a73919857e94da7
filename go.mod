module github.com/metastore/metastore

go 1.26.8
