use std::rc::Rc;

pub struct Cache {
    items: Rc<Vec<u8>>,
}

impl Cache {
    #[isolate::isolated]
    pub fn total(self) -> usize {
        self.items.len()
    }

    #[isolate::isolated]
    pub fn shared(self: Rc<Self>) -> usize {
        self.items.len()
    }
}

fn main() {}
