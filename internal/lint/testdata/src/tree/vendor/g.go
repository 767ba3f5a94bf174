package p

func ftree_vendor() {
	go ftree_vendor()
}
