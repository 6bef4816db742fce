//! `#[isolated(process)]`: the rules a process isolate adds, and the
//! expansion of its two siblings.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{LitStr, Type};

use crate::args::Options;
use crate::model::{Model, Output};
use crate::types::{contains_impl_trait, ResultShape};
use crate::valid::Errors;

/// The rules of a process isolate, on top of a thread isolate's: a free,
/// non-generic, non-async function whose arguments and result can be
/// serialized (the last is checked by the compiler, at the user's types).
pub(crate) fn check(model: &Model<'_>, options: &Options, errors: &mut Errors) {
    if options.process.is_none() {
        for (key, limit) in [
            ("memory_limit", &options.memory_limit),
            ("cpu_limit", &options.cpu_limit),
        ] {
            if let Some((span, _)) = limit {
                errors.push(syn::Error::new(
                    *span,
                    format!("#[isolated({key} = ...)] applies to process isolates only: add `process`, as in #[isolated(process, {key} = ...)]"),
                ));
            }
        }
        return;
    }
    if let Some(span) = options.dedicated {
        errors.push(syn::Error::new(
            span,
            "#[isolated(process)] cannot be `dedicated`: a process isolate runs in a child process, not on a thread of this one; remove `dedicated`",
        ));
    }
    if let Some(stack_size) = &options.stack_size {
        errors.push(syn::Error::new(
            stack_size.span(),
            "#[isolated(process)] takes no `stack_size`: the function runs on the child process's main thread; remove `stack_size`",
        ));
    }
    let sig = model.func.sig;
    if model.in_impl || model.receiver.is_some() {
        let span = model
            .receiver
            .map_or_else(|| sig.ident.span(), Spanned::span);
        errors.push(syn::Error::new(
            span,
            "#[isolated(process)] applies to free functions only: the child process finds the function by its module path; call the method from a free function and put the attribute there",
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &sig.generics,
            "#[isolated(process)] cannot be used on a generic function: the child process runs one registered function per name; write a non-generic function that calls it",
        ));
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.push(syn::Error::new(
            asyncness.span(),
            "#[isolated(process)] cannot be used on an `async fn`: a child process runs blocking functions; make it a plain `fn`",
        ));
    }
    if let Some(arg) = model.args.iter().find(|arg| arg.supplied.is_some()) {
        errors.push(syn::Error::new_spanned(
            arg.ty,
            "#[isolated(process)] cannot supply a `Progress` or `Port` parameter: they are channels between the threads of one process",
        ));
    }
    for arg in model.args.iter().filter(|arg| contains_impl_trait(arg.ty)) {
        errors.push(syn::Error::new_spanned(
            arg.ty,
            "#[isolated(process)] needs a named type here: an `impl Trait` argument cannot be sent to a child process",
        ));
    }
    match &model.output {
        Output::Never(span) => errors.push(syn::Error::new(
            *span,
            "#[isolated(process)] needs a function that returns: `-> !` has nothing to send back",
        )),
        Output::Plain(ty) | Output::Folded { ty, .. } if contains_impl_trait(ty) => {
            errors.push(syn::Error::new_spanned(
                ty,
                "#[isolated(process)] needs a named return type: an `impl Trait` cannot be received from a child process",
            ));
        }
        _ => {}
    }
}

// Input:
//     #[isolated(process, timeout = "2s")]
//     fn render(doc: Document) -> Result<Png, RenderError> { .. }
// Output (beside the function, unchanged):
//     fn render_isolated(doc: Document) -> IsolateHandle<Png, RenderError> {
//         render_isolated_with(Builder::new().timeout(..), doc)
//     }
//     fn render_isolated_with(builder: Builder, doc: Document) -> IsolateHandle<Png, RenderError> {
//         fn __process<A0: ProcessArg, R: FoldResult>(f: fn(A0) -> R, job: Job<(A0,)>)
//             -> Done<R::Ok, R::Err> where R::Ok: ProcessReturn, R::Err: ProcessReturn
//         { match job { Call { .. } => Handle(call(..)), Serve(input) => Served(serve(..)) } }
//         fn __run(input: &[u8]) -> Served {
//             __process::<Document, Result<Png, RenderError>>(render, Job::Serve(input)).into_served()
//         }
//         #[distributed_slice(ENTRIES)]
//         static __ENTRY: Entry = Entry { key: concat!(module_path!(), "::render"), run: __run };
//         __process::<Document, Result<Png, RenderError>>(render, Job::Call { .. }).into_handle()
//     }
// The turbofish carries the user's own type tokens, so a type that cannot be
// serialized is reported at the user's parameter, in the words of the
// `ProcessArg` / `ProcessReturn` traits.
pub(crate) fn wrappers(model: &Model<'_>, options: &Options, failed: bool) -> TokenStream {
    let krate = match &options.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::isolate),
    };
    let private = quote!(#krate::__private);
    let p = quote!(#krate::__private::process);
    let site = Span::mixed_site();
    let sig = model.func.sig;
    let ident = &sig.ident;
    let wrapper_ident = match &options.wrapper {
        Some(wrapper) => wrapper.clone(),
        None => crate::expand::sibling_ident(ident),
    };
    let with_ident = format_ident!("{}_with", wrapper_ident, span = wrapper_ident.span());
    let vis = model.func.vis;
    let kept_attrs = crate::expand::kept_attrs(model.func.attrs);
    let name = match &options.name {
        Some(name) => name.clone(),
        None => LitStr::new(&ident.to_string(), ident.span()),
    };
    let mut builder = quote!(#krate::process::Builder::new());
    if let Some(timeout) = &options.timeout {
        builder.extend(quote_spanned!(timeout.span()=> .timeout(#timeout)));
    }
    if let Some((_, memory)) = &options.memory_limit {
        builder.extend(quote_spanned!(memory.span()=> .memory_limit(#memory)));
    }
    if let Some((_, cpu)) = &options.cpu_limit {
        builder.extend(quote_spanned!(cpu.span()=> .cpu_limit(#cpu)));
    }

    let names: Vec<_> = model.args.iter().map(|arg| arg.name.clone()).collect();
    let types: Vec<&Type> = model.args.iter().map(|arg| arg.ty).collect();
    // How the result comes back: a plain `R`, an explicit `Result<T, E>`
    // (its two types in the turbofish, so that a mistake is reported at the
    // one that is wrong), or an alias folded through `FoldResult`.
    let (handle_args, return_types, shape) = match &model.output {
        Output::Unit | Output::Never(_) => (quote!(()), quote!(()), Shape::Plain),
        Output::Plain(ty) => (quote!(#ty), quote!(#ty), Shape::Plain),
        Output::Folded {
            shape: ResultShape::Explicit { ok, err },
            ..
        } => (quote!(#ok, #err), quote!(#ok, #err), Shape::Explicit),
        Output::Folded { ty, .. } => (
            quote_spanned!(ty.span()=>
                <#ty as #private::FoldResult>::Ok,
                <#ty as #private::FoldResult>::Err
            ),
            quote!(#ty),
            Shape::Alias,
        ),
    };
    let handle = quote!(#krate::IsolateHandle<#handle_args>);
    let summary =
        format!(" Runs [`{ident}`] in a child process and returns a handle to its result.");
    let details =
        " Generated by `#[isolated(process)]`: the arguments are serialized and sent to a \
        child process, which may crash without harming this one. Wait with `.join()` or `.await`; \
        dropping the handle kills the child.";
    let with_summary = format!(
        " Like [`{wrapper_ident}`], with this call's name and limits from an `isolate::process::Builder`."
    );
    let allow_unused = failed.then(|| quote!(#[allow(unused_variables)]));

    let with_body = if failed {
        quote!(::core::unreachable!())
    } else {
        let params: Vec<_> = (0..names.len())
            .map(|i| format_ident!("A{}", i, span = site))
            .collect();
        let values: Vec<_> = (0..names.len())
            .map(|i| format_ident!("a{}", i, span = site))
            .collect();
        let (return_params, return_bounds, f_output, done, call, serve) = match shape {
            Shape::Alias => (
                quote!(R),
                quote!(
                    R: #private::FoldResult,
                    <R as #private::FoldResult>::Ok: #p::ProcessReturn,
                    <R as #private::FoldResult>::Err: #p::ProcessReturn,
                ),
                quote!(R),
                quote!(#p::Done<
                    <R as #private::FoldResult>::Ok,
                    <R as #private::FoldResult>::Err,
                >),
                quote!(#p::call::<(#(#params,)*), _, _>(entry, builder, args)),
                quote!(#p::serve::<(#(#params,)*), _, _>(input, |(#(#values,)*)| {
                    #private::FoldResult::into_result(f(#(#values),*))
                })),
            ),
            Shape::Explicit => (
                quote!(T, E),
                quote!(T: #p::ProcessReturn, E: #p::ProcessReturn,),
                quote!(::core::result::Result<T, E>),
                quote!(#p::Done<T, E>),
                quote!(#p::call::<(#(#params,)*), T, E>(entry, builder, args)),
                quote!(#p::serve::<(#(#params,)*), T, E>(input, |(#(#values,)*)| f(#(#values),*))),
            ),
            Shape::Plain => (
                quote!(R),
                quote!(R: #p::ProcessReturn,),
                quote!(R),
                quote!(#p::Done<R, ::core::convert::Infallible>),
                quote!(#p::call_infallible::<(#(#params,)*), R>(entry, builder, args)),
                quote!(#p::serve_plain::<(#(#params,)*), R>(input, |(#(#values,)*)| f(#(#values),*))),
            ),
        };
        let process_fn = format_ident!("__process", span = site);
        let run_fn = format_ident!("__run", span = site);
        let entry = format_ident!("__ENTRY", span = site);
        let builder_arg = format_ident!("builder", span = site);
        let key = ident.to_string();
        quote! {
            // One helper starts the call here and serves it in the child, so
            // that a type that cannot be serialized is reported once, at the
            // user's token in the turbofish.
            #[allow(clippy::type_complexity)]
            fn #process_fn<#(#params: #p::ProcessArg,)* #return_params>(
                f: fn(#(#params),*) -> #f_output,
                job: #p::Job<'_, (#(#params,)*)>,
            ) -> #done
            where
                #return_bounds
            {
                match job {
                    #p::Job::Call { entry, builder, args } => #p::Done::Handle(#call),
                    #p::Job::Serve(input) => #p::Done::Served(#serve),
                }
            }
            fn #run_fn(input: &[u8]) -> #p::Served {
                #process_fn::<#(#types,)* #return_types>(#ident, #p::Job::Serve(input)).into_served()
            }
            #[#p::distributed_slice(#p::ENTRIES)]
            #[linkme(crate = #p::linkme)]
            static #entry: #p::Entry = #p::Entry {
                key: ::core::concat!(::core::module_path!(), "::", #key),
                run: #run_fn,
            };
            #process_fn::<#(#types,)* #return_types>(#ident, #p::Job::Call {
                entry: &#entry,
                builder: #builder_arg.default_name(#name),
                args: (#(#names,)*),
            })
            .into_handle()
        }
    };
    let params = model.args.iter().map(|arg| {
        let (name, ty) = (&arg.name, arg.ty);
        let attrs = crate::expand::lint_attrs(arg.attrs);
        quote!(#(#attrs)* #name: #ty)
    });
    let params_again = params.clone();
    let builder_param = format_ident!("builder", span = site);
    let plain = |forward: TokenStream, allow_unused: Option<TokenStream>| {
        let params = params.clone();
        quote! {
            #(#kept_attrs)*
            #[doc = #summary]
            #[doc = ""]
            #[doc = #details]
            #allow_unused
            #vis fn #wrapper_ident(#(#params),*) -> #handle {
                #forward
            }
        }
    };
    let stand_in = plain(
        quote!(::core::unreachable!()),
        Some(quote!(#[allow(unused_variables)])),
    );
    let plain = if failed {
        stand_in.clone()
    } else {
        plain(quote!(#with_ident(#builder, #(#names),*)), None)
    };
    // Without the runtime's `process` feature, its macro emits the error
    // (at the user's `process`) and the stand-in sibling, instead of the
    // items that name what the feature leaves out.
    let process_span = options.process.unwrap_or_else(Span::call_site);
    let process_items =
        crate::expand::respan(quote!(#krate::__private::process_items!), process_span);
    let missing_feature = syn::Error::new(
        process_span,
        "#[isolated(process)] needs the `process` feature of isolates: enable it in Cargo.toml, `isolates = { version = \"..\", features = [\"process\"] }`",
    )
    .into_compile_error();
    quote! {
        #process_items {
            {
                #plain

                #(#kept_attrs)*
                #[doc = #with_summary]
                #allow_unused
                #vis fn #with_ident(#builder_param: #krate::process::Builder, #(#params_again),*) -> #handle {
                    #with_body
                }
            } else {
                { #missing_feature }
                #stand_in
            }
        }
    }
}

/// How a process isolate's result comes back.
#[derive(Clone, Copy)]
enum Shape {
    /// A plain value (or `()`): `IsolateHandle<R>`.
    Plain,
    /// `Result<T, E>` written out: `IsolateHandle<T, E>`.
    Explicit,
    /// A `Result` through an alias: `<R as FoldResult>::{Ok, Err}`.
    Alias,
}
