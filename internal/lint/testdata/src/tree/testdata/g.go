package p

func ftree_testdata() {
	go ftree_testdata()
}
