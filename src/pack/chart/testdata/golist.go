package main

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
)

func main() {
	for _, path := range os.Args[1:] {
		fmt.Printf("FILE %s\n", path)
		f, err := os.Open(path)
		if err != nil {
			fmt.Println("ERR")
			continue
		}
		tr := tar.NewReader(f)
		for {
			hd, err := tr.Next()
			if err == io.EOF {
				fmt.Println("END")
				break
			}
			if err != nil {
				fmt.Println("ERR")
				break
			}
			if hd.Typeflag == tar.TypeXGlobalHeader {
				fmt.Println("g")
				continue
			}
			n, err := io.Copy(io.Discard, tr)
			fmt.Printf("%c %x %d %d %v\n", hd.Typeflag, hd.Name, hd.Size, n, hd.FileInfo().IsDir())
			if err != nil {
				fmt.Println("ERR")
				break
			}
		}
		f.Close()
	}
}
